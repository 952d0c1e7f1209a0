"""Rules against announcements: pure, no I/O; every keyword is compiled once, in `Matcher`.

One rule is evaluated on one announcement in this order:
  1. sources: a rule that names sources skips announcements of every other source;
  2. fields: only the rule's fields (title, summary, agency, link, category; body and attachments once
     the call was read, watcher/pipeline/details.py) are searched, each on its own;
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
normalised text, spaces kept. Each hit explains itself with the item's words (`Hit.words`): per
matched keyword, the field and the text there as the source published it, never the pattern.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from watcher.match.keywords import (
    _SOH,
    _compile_keyword,
    _identity,
    _is_regex,
    _squash,
    keyword_identity,
    keyword_problem,
    literal_pattern,
    normalize,
    original_text,
)
from watcher.match.scanner import regex_anchors, trie_pattern
from watcher.models import Announcement, Hit, Rule, RuleSet

FIELDS = ("title", "summary", "agency", "link", "category", "body", "attachments")
Words = tuple[tuple[str, str], ...]  # Hit.words: (field, text as published)
__all__ = ["FIELDS", "Matcher", "Words", "keyword_identity", "keyword_problem", "literal_pattern", "normalize"]

@dataclass(frozen=True)
class _Atom:
    """One searchable word: a literal (with its space-free form) or a regex."""

    id: int
    pattern: re.Pattern[str]
    squashed: str | None  # None for regexes
    free: bool = False  # a literal free of Latin constraints: found wherever its squashed form is


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
    none_atoms: frozenset[int]  # every atom of every `none` keyword

    def atoms(self) -> frozenset[int]:
        return frozenset().union(*(kw.atoms for kw in (*self.any, *self.all, *self.none)))


def _containment(pieces: list[tuple[str, _Atom]]) -> Callable[[str], list[_Atom]]:
    """form -> the atoms of the pieces whose text is inside it, in the pieces' order (as
    `[atom for text, atom in pieces if text in form]`, but by looking the form's substrings up in an
    index of the pieces: linear in the forms, where scanning every piece per form made building the
    matcher quadratic in the rules)."""
    index: dict[str, list[int]] = {}
    for i, (text, _atom) in enumerate(pieces):
        index.setdefault(text, []).append(i)
    lengths = sorted({len(text) for text in index if text})
    always = index.get("", [])

    def contained(form: str) -> list[_Atom]:
        found = set(always)
        for size in lengths:
            if size > len(form):
                break
            for start in range(len(form) - size + 1):
                hit = index.get(form[start:start + size])
                if hit:
                    found.update(hit)
        return [pieces[i][1] for i in sorted(found)]

    return contained


class Matcher:
    """All rules of a RuleSet, compiled once, when first used (a cycle in which nothing changed
    never pays for it; `prepare` builds it before parse workers are forked, so they inherit it);
    `match` runs them on one announcement."""

    def __init__(self, ruleset: RuleSet):
        self.ruleset = ruleset
        self._lock = threading.RLock()  # fetch threads may parse at once: one builds, the others wait
        self._building = False

    def __getattr__(self, name: str) -> Any:
        """Compiled state is built on first access (only private names; an attribute still missing
        during or after the build is an AttributeError as usual)."""
        if name.startswith("__") or not name.startswith("_") or "_lock" not in self.__dict__:
            raise AttributeError(name)
        with self._lock:
            if not self._building:
                # built aside, then installed in one step: no thread sees half a matcher
                built = object.__new__(Matcher)
                built.__dict__.update(ruleset=self.ruleset, _lock=self._lock, _building=True)
                built._build()
                self.__dict__.update(built.__dict__)
        return object.__getattribute__(self, name)

    def prepare(self) -> None:
        """Build the compiled state now (before forking parse workers, so they share one build)."""
        self._rules  # noqa: B018 - the first access builds

    def _build(self) -> None:
        ruleset = self.ruleset
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

            none = kws(rule.none)
            self._rules.append(_Compiled(
                index, rule, tuple(f for f in rule.fields if f in FIELDS) or ("title", "summary"),
                frozenset(rule.sources) if rule.sources else None,
                kws(rule.any), kws(rule.all), none, frozenset().union(*(kw.atoms for kw in none))))
        self._by_name = {c.rule.name: c for c in self._rules}
        self._hits: dict[tuple[int, tuple[str, ...]], Hit] = {}
        self._fields = tuple(f for f in FIELDS if any(f in c.fields for c in self._rules))
        self._plan()

    # -- compiling ---------------------------------------------------------------------------

    def _atom(self, word: str) -> int:
        if not _is_regex(word) and not _identity(word):  # e.g. only a zero-width space
            word = "re:(?!)"  # matches nothing
        pattern = _compile_keyword(word)
        key = _identity(word) if _is_regex(word) else pattern.pattern
        if key not in self._atom_ids:
            squashed = None if _is_regex(word) else _identity(word)
            free = squashed is not None and pattern.pattern == r"\s*".join(map(re.escape, squashed))
            self._atom_ids[key] = len(self._atoms)
            self._atoms.append(_Atom(len(self._atoms), pattern, squashed, free))
        return self._atom_ids[key]

    def _keyword(self, word: str, groups: dict[str, list[str]]) -> _Keyword:
        words = groups.get(_identity(word), [])
        return _Keyword(word, frozenset(self._atom(w) for w in [word, *words]))

    def _plan(self) -> None:
        """Build the one-pass scanner and the rule index used to skip rules.

        The scanner is a trie of space-free forms, any white space allowed between letters and
        no word-end checks, so it finds a superset of the literals. Its forms are those of the
        literals and the anchors of the regexes (literals one of which any match contains:
        `(ai|인공지능)` of `(ai|인공지능).{0,15}의료`). Searched without overlaps, it reports at
        each position the longest form found there. Pieces it may hide are those inside a reported
        form and those starting inside it and running past its end; the latter are avoided by
        adding each overlap as a form of its own (`관광특구` + `특구기업` -> `관광특구기업`).
        Per reported form: `_sure` holds the literals sure to be there, `_check` the literals
        to search for with their exact pattern, `_regex` the regexes worth searching.
        """
        literals = [a for a in self._atoms if a.squashed is not None]
        regexes = [a for a in self._atoms if a.squashed is None]
        pieces: list[tuple[str, _Atom]] = [(a.squashed or "", a) for a in literals]
        self._unanchored: list[_Atom] = []  # regexes searched whatever the text
        for atom in regexes:
            anchors = regex_anchors(atom.pattern)
            if anchors is None:
                self._unanchored.append(atom)
            else:
                pieces.extend((anchor, atom) for anchor in anchors)
        by_prefix: dict[str, list[tuple[str, _Atom]]] = {}
        for piece in pieces:
            for k in range(1, len(piece[0]) + 1):
                by_prefix.setdefault(piece[0][:k], []).append(piece)

        def overlaps(form: str) -> Iterator[tuple[_Atom, str]]:
            for k in range(1, len(form)):
                for squashed, atom in by_prefix.get(form[k:], []):
                    if len(squashed) > len(form) - k:
                        yield atom, form + squashed[len(form) - k:]

        # Overlaps can chain forever (`ab`, `ba`): joined forms are kept short and few; the
        # overlaps left out are searched for.
        real = {squashed for squashed, _ in pieces}
        forms, queue = set(real), sorted(real)
        longest, limit = max(map(len, real), default=0), 10 * len(real) + 1000
        while queue and len(forms) < limit:
            for _atom, joined in overlaps(queue.pop()):
                if joined not in forms and len(joined) <= 2 * longest:
                    forms.add(joined)
                    queue.append(joined)
        self._scan = re.compile(trie_pattern(sorted(forms))) if forms else None
        self._sure: dict[str, frozenset[int]] = {}
        self._check: dict[str, tuple[_Atom, ...]] = {}
        self._regex: dict[str, tuple[_Atom, ...]] = {}
        contained = _containment(pieces)
        for form in forms:
            inside = contained(form)
            hidden = inside + [atom for atom, joined in overlaps(form) if joined not in forms]
            sure = self._sure[form] = frozenset(a.id for a in inside if a.free)
            self._check[form] = tuple({a.id: a for a in hidden if a.squashed and a.id not in sure}.values())
            self._regex[form] = tuple({a.id: a for a in hidden if a.squashed is None}.values())
        regex_ids = {a.id for a in regexes}
        self._regex_fields = {f for c in self._rules if not c.atoms().isdisjoint(regex_ids)
                              for f in c.fields}
        # A rule can only match when one of its trigger atoms is present: those of `any`, else
        # those of its first `all` keyword.
        self._triggered: dict[int, set[int]] = {}  # atom id -> indexes of the rules it triggers
        for c in self._rules:
            for kw in c.any or c.all[:1]:
                for atom in kw.atoms:
                    self._triggered.setdefault(atom, set()).add(c.index)

    # -- matching ----------------------------------------------------------------------------

    def _present(self, ann: Announcement, fields: tuple[str, ...], texts: dict[str, str] | None = None,
                 text: str | None = None) -> dict[str, set[int]]:
        """Ids of the atoms found in each field (normalised together, in one call); `texts` gets
        each field's normalised text. `text`: those fields normalised already (see `screen`)."""
        if text is None:
            raws = [getattr(ann, f, None) or "" for f in fields]
            text = normalize("\0".join(r.replace("\0", " ") if "\0" in r else r for r in raws))
        found: dict[str, set[int]] = {}
        for f, part in zip(fields, text.split("\0"), strict=True):
            if texts is not None:
                texts[f] = part
            atoms = found[f] = set()
            if not part:
                continue
            regexes: list[_Atom] = []
            if self._scan is not None:
                for raw in set(self._scan.findall(part)):
                    form = raw if raw in self._sure else _squash(raw)
                    atoms |= self._sure[form]
                    for atom in self._check[form]:
                        if atom.id not in atoms and atom.pattern.search(part) is not None:
                            atoms.add(atom.id)
                    regexes += self._regex[form]
            if f in self._regex_fields:
                for atom in [*self._unanchored, *regexes]:
                    if atom.id not in atoms and atom.pattern.search(part) is not None:
                        atoms.add(atom.id)
        return found

    def _evaluate(self, c: _Compiled, atoms: set[int]) -> tuple[Hit, tuple[_Keyword, ...]] | None:
        """The rule's verdict given the atoms found in its fields (sources already checked): its
        hit (without words) and the keywords that earned it, or None."""
        if not atoms.isdisjoint(c.none_atoms):
            return None
        for kw in c.all:
            if atoms.isdisjoint(kw.atoms):
                return None
        matched = tuple(kw for kw in c.any if not atoms.isdisjoint(kw.atoms))
        if c.any and not matched:
            return None
        key = (c.index, tuple(kw.text for kw in matched))
        hit = self._hits.get(key)  # Hits are immutable: one per rule and keywords is enough
        if hit is None:
            if len(self._hits) > 100_000:
                self._hits.clear()
            keywords = tuple(dict.fromkeys([*key[1], *(kw.text for kw in c.all)]))
            hit = self._hits[key] = Hit(c.rule.name, c.rule.channel, keywords, c.rule.mention, label=c.rule.label)
        return hit, (*matched, *c.all)

    def _explain(self, c: _Compiled, verdict: tuple[Hit, tuple[_Keyword, ...]], ann: Announcement,
                 texts: dict[str, str], seen: dict[tuple[str, str], tuple[str, str] | None]) -> Hit:
        """The hit with the item's words: per keyword, the first of the rule's fields it matched
        in and the text it matched there (earliest, then longest, of its synonyms' matches).
        `texts`: normalised field texts known already (filled in as needed); `seen`: the word of a
        keyword in a field found for another rule on the same item (None: not there)."""
        hit, keywords = verdict
        words: list[tuple[str, str]] = []
        for kw in keywords:
            for f in c.fields:
                key = (f, kw.text)  # the same text is the same keyword (synonyms are global)
                if key in seen:
                    word = seen[key]
                else:
                    word = seen[key] = self._word(f, kw, ann, texts)
                if word is not None:
                    if word not in words:
                        words.append(word)
                    break
        return Hit(hit.rule, hit.channel, hit.keywords, hit.mention, tuple(words), hit.label)

    def _word(self, f: str, kw: _Keyword, ann: Announcement, texts: dict[str, str]) -> tuple[str, str] | None:
        """(field, the text as published) where `kw` matches in field `f` of `ann`, else None."""
        raw = getattr(ann, f, None) or ""
        if not raw:
            return None
        norm = texts.get(f)
        if norm is None:
            norm = texts[f] = normalize(raw.replace("\0", " "))
        best: tuple[int, int] | None = None
        for atom_id in sorted(kw.atoms):
            m = self._atoms[atom_id].pattern.search(norm)
            if m and m.end() > m.start() and (best is None or (m.start(), -m.end()) < (best[0], -best[1])):
                best = (m.start(), m.end())
        return None if best is None else (f, original_text(raw, norm, *best))

    def match(self, ann: Announcement, known: Callable[[Hit], Words | None] | None = None,
              text: str | None = None) -> list[Hit]:
        """Hits of every matching rule, in rules.yaml order, each with the item's words. `known`:
        given a hit without words, the words already known for it (a stored match of the same
        keywords), or None to find them in the item. `text`: the item's text as `screen` of this
        matcher normalised it, when known."""
        if not self._fields:  # no rules
            return []
        texts: dict[str, str] = {}
        present = self._present(ann, self._fields, texts, text)
        triggered = self._triggered
        candidates: set[int] = set()
        for atoms in present.values():
            for atom in atoms:
                if atom in triggered:
                    candidates |= triggered[atom]
        if not candidates:
            return []
        hits = []
        unions: dict[tuple[str, ...], set[int]] = {}
        seen: dict[tuple[str, str], tuple[str, str] | None] = {}
        for index in sorted(candidates):
            c = self._rules[index]
            if c.sources is not None and ann.source not in c.sources:
                continue
            atoms = unions.get(c.fields)
            if atoms is None:
                atoms = unions[c.fields] = (present[c.fields[0]] if len(c.fields) == 1 else
                                            set().union(*(present[f] for f in c.fields)))
            verdict = self._evaluate(c, atoms)
            if verdict is None:
                continue
            words = None if known is None else known(verdict[0])
            if words is None:
                hits.append(self._explain(c, verdict, ann, texts, seen))
            else:
                hit = verdict[0]
                hits.append(Hit(hit.rule, hit.channel, hit.keywords, hit.mention, words, hit.label))
        return hits

    def screen(self, anns: Sequence[Announcement | Any], texts: list[str] | None = None) -> list[bool]:
        """Per announcement (or anything with its text fields): may `match` find anything? False
        only when it surely finds nothing (no form of a keyword that can trigger a rule is in its
        fields). Many texts are normalised and scanned in one call, several times cheaper per item
        than `match`: re-matching a store matches only the items this lets through. `texts`, when
        given, gets each item's normalised text (for `match(text=...)`), or stays empty."""
        if not self._fields or (self._unanchored and self._regex_fields) or self._scan is None:
            return [bool(self._fields)] * len(anns)
        scan = self.__dict__.get("_trigger_scan")
        if scan is None:  # the scanner's forms that may bring a rule's trigger atom (see _plan)
            triggers = set(self._triggered)
            forms = [form for form, sure in self._sure.items()
                     if not triggers.isdisjoint({*sure, *(a.id for a in (*self._check[form], *self._regex[form]))})]
            scan = self.__dict__["_trigger_scan"] = re.compile(trie_pattern(sorted(forms)) if forms else "(?!)")
        parts = []  # fields apart by NUL (no form holds one), items by SOH, as _present joins them
        exact = True  # each item's text is what _present would normalise (no SOH had to go)
        for ann in anns:
            raws = [getattr(ann, f, None) or "" for f in self._fields]
            part = "\0".join(r.replace("\0", " ") if "\0" in r else r for r in raws)
            if "\1" in part:
                part, exact = part.replace("\1", " "), False
            parts.append(part)
        text = normalize("\1".join(parts))
        starts = [m.start() for m in _SOH.finditer(text)]  # where each item after the first begins
        found = [False] * len(anns)
        ends = [*starts, len(text)]
        m = scan.search(text)
        while m is not None:  # one search per item found: the rest of that item is skipped
            k = bisect.bisect_left(starts, m.start())
            found[k] = True
            m = scan.search(text, ends[k] + 1) if k < len(starts) else None
        if texts is not None and exact and len(starts) + 1 == len(anns):
            texts.extend(text.split("\1"))
        return found

    def match_rule(self, name: str, ann: Announcement) -> Hit | None:
        """The hit of the rule called `name` on `ann`, or None. KeyError for an unknown name."""
        c = self._by_name[name]
        if c.sources is not None and ann.source not in c.sources:
            return None
        texts: dict[str, str] = {}
        present = self._present(ann, c.fields, texts)
        verdict = self._evaluate(c, set().union(*present.values()))
        return None if verdict is None else self._explain(c, verdict, ann, texts, {})

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(c.rule.name for c in self._rules)

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields some rule reads, in the order `screen` and `match` join them."""
        return self._fields
