"""Rules against announcements: pure, no I/O; every keyword is compiled once, in `Matcher`.

One rule is evaluated on one announcement in this order:
  1. sources: a rule that names sources skips announcements of every other source;
  2. fields: only the rule's fields (title, summary, agency, link) are searched, each on its own;
     a keyword matches when it matches in any one of them;
  3. none: one matching keyword rejects the announcement;
  4. all: every keyword must match;  5. any: at least one must match (when the rule has `any`).
A keyword in a synonym group matches when any word of that group matches (`Hit.keywords` still
reports the keyword as written in rules.yaml). Text and keywords are NFKC-normalised, case-folded,
and middle dots (· ㆍ ・ ‧ ∙ ⋅ •) folded into one. White space is ignored both ways: a keyword
matches across spaces in the text and its own spaces are optional, except that two Latin letters or
digits written together in a keyword must be together in the text (`AI` does not match `A I`).
Hangul matches inside words (`의료기기를`). An end of a keyword that is a Latin letter or digit must
not touch a Latin letter or digit in the text: `AI` matches `의료AI`, `AI-based`, `(AI)`, but not
`maintain` or `AIDS`. `re:` keywords are Python regexes searched case-insensitively on the
normalised text, spaces kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from watcher.models import Announcement, Hit, Rule, RuleSet

FIELDS = ("title", "summary", "agency", "link")

# Middle dots NFKC leaves apart (ㆍ U+318D becomes U+119E under NFKC; ･ becomes ・), and
# invisible characters that would split a word.
_DOTS = "\u00b7\u318d\u119e\u30fb\uff65\u2027\u2219\u22c5\u2022\u2e31"
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_FOLD = {**dict.fromkeys(_DOTS, "\u00b7"), **dict.fromkeys(_INVISIBLE, "")}
_FOLD_RE = re.compile(f"[{_DOTS}{_INVISIBLE}]")
_WS = re.compile(r"\s+")

# "Latin letter or digit" for whole-word ends: ASCII letters and digits, Latin-1 and Latin
# Extended-A/B letters (case-folded text, so no upper case is needed).
_LATIN = "0-9a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_LATIN_RE = re.compile(f"[{_LATIN}]")


def normalize(text: str | None) -> str:
    """NFKC, middle dots folded, invisible characters dropped, case-folded; spaces are kept."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    if _FOLD_RE.search(text):
        text = _FOLD_RE.sub(lambda m: _FOLD[m.group()], text)
    return text.casefold()


def _squash(text: str) -> str:
    return _WS.sub("", text)


def _latin(ch: str) -> bool:
    return _LATIN_RE.match(ch) is not None


def literal_pattern(keyword: str) -> str:
    """Regex source for a plain keyword, to be searched in `normalize`d text without flags.

    The pattern starts with a literal character (a lookbehind follows it), so an alternation of
    such patterns keeps the regex engine's fast first-character scan.
    """
    words = _WS.split(normalize(keyword).strip())
    chars = "".join(words)
    if not chars:
        raise ValueError("empty keyword")
    glued = set()  # indexes i where chars[i] and chars[i + 1] were written together
    i = 0
    for word in words:
        glued.update(range(i, i + len(word) - 1))
        i += len(word)
    out = [re.escape(chars[0])]
    if _latin(chars[0]):
        out.append(f"(?<![{_LATIN}].)")
    for i in range(1, len(chars)):
        if not (i - 1 in glued and _latin(chars[i - 1]) and _latin(chars[i])):
            out.append(r"\s*")
        out.append(re.escape(chars[i]))
    if _latin(chars[-1]):
        out.append(f"(?![{_LATIN}])")
    return "".join(out)


def keyword_problem(keyword: str) -> str | None:
    """Why `keyword` cannot be compiled (for config validation), or None when it can."""
    try:
        _compile_keyword(keyword)
    except (ValueError, re.error) as err:
        return f"keyword {keyword!r}: {err}"
    return None


def _is_regex(keyword: str) -> bool:
    return keyword.startswith("re:")


def _compile_keyword(keyword: str) -> re.Pattern[str]:
    if _is_regex(keyword):
        source = unicodedata.normalize("NFKC", keyword[3:])
        if not source:
            raise ValueError("empty regular expression")
        return re.compile(_FOLD_RE.sub(lambda m: _FOLD[m.group()], source), re.IGNORECASE)
    return re.compile(literal_pattern(keyword))


def _identity(word: str) -> str:
    """Two words with the same identity are the same keyword (synonym lookup, atom sharing)."""
    if _is_regex(word):
        return "re:" + unicodedata.normalize("NFKC", word[3:])
    return _squash(normalize(word))


@dataclass(frozen=True)
class _Atom:
    """One searchable word: a literal (with its space-free form) or a regex."""

    id: int
    pattern: re.Pattern[str]
    squashed: str | None  # None for regexes


@dataclass(frozen=True)
class _Keyword:
    text: str  # as written in rules.yaml
    atoms: frozenset[int]  # the keyword's own atom and those of its synonyms


@dataclass(frozen=True)
class _Compiled:
    index: int
    rule: Rule
    fields: tuple[str, ...]
    sources: frozenset[str] | None
    any: tuple[_Keyword, ...]
    all: tuple[_Keyword, ...]
    none: tuple[_Keyword, ...]


class Matcher:
    """All rules of a RuleSet, compiled once; `match` runs them on one announcement."""

    def __init__(self, ruleset: RuleSet):
        self.ruleset = ruleset
        self._atoms: list[_Atom] = []
        self._atom_ids: dict[str, int] = {}  # literal pattern or regex identity -> atom id
        groups: dict[str, list[str]] = {}  # identity -> every word it stands for
        for group in ruleset.synonyms:
            for word in group:
                groups.setdefault(_identity(word), []).extend(group)
        self._rules: list[_Compiled] = []
        for index, rule in enumerate(ruleset.rules):
            def kws(words: Iterable[str]) -> tuple[_Keyword, ...]:
                return tuple(self._keyword(w, groups) for w in words)

            self._rules.append(_Compiled(
                index, rule, tuple(f for f in rule.fields if f in FIELDS) or ("title", "summary"),
                frozenset(rule.sources) if rule.sources else None,
                kws(rule.any), kws(rule.all), kws(rule.none)))
        self._by_name = {c.rule.name: c for c in self._rules}
        self._fields = tuple(f for f in FIELDS if any(f in c.fields for c in self._rules))
        self._plan()

    # -- compiling ---------------------------------------------------------------------------

    def _atom(self, word: str) -> int:
        pattern = _compile_keyword(word)
        key = _identity(word) if _is_regex(word) else pattern.pattern
        if key not in self._atom_ids:
            squashed = None if _is_regex(word) else _identity(word)
            self._atom_ids[key] = len(self._atoms)
            self._atoms.append(_Atom(len(self._atoms), pattern, squashed))
        return self._atom_ids[key]

    def _keyword(self, word: str, groups: dict[str, list[str]]) -> _Keyword:
        words = groups.get(_identity(word), [])
        return _Keyword(word, frozenset(self._atom(w) for w in [word, *words]))

    def _plan(self) -> None:
        """Build the one-pass scanner over all literals and the rule index used to skip rules."""
        literals = [a for a in self._atoms if a.squashed is not None]
        regexes = [a for a in self._atoms if a.squashed is None]
        # Longest first, so the alternation reports the longest literal starting at a position;
        # shorter ones found there (or inside it) are checked from `_inside`.
        literals.sort(key=lambda a: -len(a.squashed or ""))
        self._scan = re.compile("|".join(a.pattern.pattern for a in literals)) if literals else None
        self._inside: dict[str, list[_Atom]] = {}
        forms = [a.squashed for a in literals if a.squashed is not None]
        for outer in set(forms):
            self._inside[outer] = [a for a in literals if a.squashed and a.squashed in outer]
        # A form only one literal has: when the scan reports it, that literal is the one found.
        self._sole = {form for form in forms if forms.count(form) == 1}
        self._regexes = regexes
        self._regex_gate: re.Pattern[str] | None = None
        if regexes:
            try:
                self._regex_gate = re.compile(
                    "|".join(f"(?:{a.pattern.pattern})" for a in regexes), re.IGNORECASE)
            except re.error:  # e.g. two regexes define the same group name: search one by one
                self._regex_gate = None
        # A rule can only match when one of its trigger atoms is present: those of `any`, else
        # those of its first `all` keyword.
        self._triggered: dict[int, set[int]] = {}
        for c in self._rules:
            trigger = c.any or c.all[:1]
            for kw in trigger:
                for atom in kw.atoms:
                    self._triggered.setdefault(atom, set()).add(c.index)

    # -- matching ----------------------------------------------------------------------------

    def _present(self, text: str) -> set[int]:
        """Ids of the atoms found in one normalised field."""
        found: set[int] = set()
        if not text:
            return found
        if self._scan is not None:
            seen: set[str] = set()
            search, pos = self._scan.search, 0
            while (m := search(text, pos)) is not None:
                seen.add(m.group())
                pos = m.start() + 1
            for raw in seen:
                squashed = _squash(raw)
                for atom in self._inside[squashed]:
                    if atom.id not in found and (
                        (atom.squashed == squashed and squashed in self._sole)
                        or atom.pattern.search(text) is not None
                    ):
                        found.add(atom.id)
        if self._regexes and (self._regex_gate is None or self._regex_gate.search(text)):
            found.update(a.id for a in self._regexes if a.pattern.search(text))
        return found

    def _scan_fields(self, ann: Announcement, fields: Iterable[str]) -> dict[str, set[int]]:
        return {f: self._present(normalize(getattr(ann, f, None))) for f in fields}

    def _evaluate(self, c: _Compiled, present: dict[str, set[int]], source: str) -> Hit | None:
        if c.sources is not None and source not in c.sources:
            return None
        atoms: set[int] = set().union(*(present[f] for f in c.fields))

        def has(kw: _Keyword) -> bool:
            return not atoms.isdisjoint(kw.atoms)

        if any(has(kw) for kw in c.none) or not all(has(kw) for kw in c.all):
            return None
        matched = [kw.text for kw in c.any if has(kw)]
        if c.any and not matched:
            return None
        keywords = tuple(dict.fromkeys([*matched, *(kw.text for kw in c.all)]))
        return Hit(c.rule.name, c.rule.channel, keywords, c.rule.mention)

    def match(self, ann: Announcement) -> list[Hit]:
        """Hits of every matching rule, in rules.yaml order."""
        present = self._scan_fields(ann, self._fields)
        candidates: set[int] = set()
        for atoms in present.values():
            for atom in atoms:
                candidates |= self._triggered.get(atom, set())
        hits = []
        for index in sorted(candidates):
            hit = self._evaluate(self._rules[index], present, ann.source)
            if hit is not None:
                hits.append(hit)
        return hits

    def match_rule(self, name: str, ann: Announcement) -> Hit | None:
        """The hit of the rule called `name` on `ann`, or None. KeyError for an unknown name."""
        c = self._by_name[name]
        if c.sources is not None and ann.source not in c.sources:
            return None
        return self._evaluate(c, self._scan_fields(ann, c.fields), ann.source)

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(c.rule.name for c in self._rules)
