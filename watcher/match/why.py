"""Why a rule did or did not match one announcement (`watcher rules test --why LINK`): pure, no I/O.

The verdict is the Matcher's; this module only names what decided it, in the matcher's order:
  source   the rule reads only other sources (its `sources` filter);
  none     a `none` keyword is in a searched field (which one, where, the item's words);
  all      an `all` keyword is missing from the searched fields;
  field    an `any` keyword is in the item, but in a field the rule does not search;
  closest  no `any` keyword is there: the one that came closest and how close (the longest piece
           of it the item holds, e.g. `의료` of `의료기기`; which of a regex's required words are
           there and which not; a Latin keyword inside a longer Latin word). Words too common to tell
           (COMMON_WORDS: 공고, 지원, 기업 ...) count for nothing: a keyword comes close only through a
           telling word, and an item holding only common words of every keyword is told so;
  matched  the rule matched, with the item's words.
A keyword stands for its synonym group, as in matching; a word that came through a named group says
so. The item's words are quoted as the source published them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from watcher.match.explain import FIELD_NAMES
from watcher.match.keywords import _compile_keyword, _identity, _is_regex, _squash, normalize, original_text
from watcher.match.matcher import FIELDS, Matcher
from watcher.models import Announcement, Rule, RuleSet

REASONS = ("matched", "source", "none", "all", "field", "closest")

# Words too common to tell which rule an item is for: a keyword that comes close only through them has
# not come close. Measured on the tuning corpus tests/corpus/real.yaml (1,052 real titles, 888 of them
# wanted by no rule: a title is wanted at a base rate of 0.156). Candidates: the words a shipped `any`
# keyword (synonyms included) can come close through (its regexes' required words, its literal
# keywords' pieces) and the usual call words. A word is common when it is in at least 1% of the
# titles no rule wants and, where it is, a title is wanted less than 2.5 times as often as at the base
# rate (P(wanted | word) < 0.39). E.g. 모집 30.5% of the unwanted titles (P 0.07), 공고 19.5% (P 0.07),
# 지원 18.2% (P 0.30), AI 22.1% (P 0.07), 산업 5.3% (P 0.30), 통합 1.4% (P 0.14); telling: 의료 0.7%
# (P 0.91), 보건 0.1% (P 0.94), 헬스케어 0.1% (P 0.96), 특구 2.8% (P 0.66). Pieces that are no word
# (데이 of 데이터, Latin letter pairs) are left out; 계획 (P 0.44), 추진 (P 0.70) and 개최 (P 0.52)
# are not common by this measure. tests/test_rules_why.py recomputes it.
COMMON_WORDS = frozenset((
    "모집 공고 지원 사업 기업 소기업 창업 스타트업 참여 선정 공모 신청 안내 통합 기술 산업 혁신 전략 성과 "
    "연계 실증 프로젝트 제품 서비스 관리 정보 글로벌 해외 진출 지역 서울 부산 대구 ai 로봇 데이터 "
    "바이오 영상 테크 k-").split())


@dataclass(frozen=True)
class Why:
    rule: str
    matched: bool
    reason: str  # one of REASONS
    detail: str  # one line for people
    keyword: str | None = None  # as written in rules.yaml (the one that decided, or came closest)
    field: str | None = None  # where it was found (or where the closest piece is)
    text: str | None = None  # the item's words there, as published
    group: str | None = None  # the named synonym group the word came through, if any
    score: float = 0.0  # closest: how much of the keyword's telling part the item holds (0..1)

    def as_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "matched": self.matched, "reason": self.reason, "detail": self.detail,
                "keyword": self.keyword, "field": self.field, "text": self.text, "group": self.group}


@dataclass(frozen=True)
class _Found:
    keyword: str
    word: str  # the group word that was found (may be the keyword itself)
    field: str
    text: str


def explain(ruleset: RuleSet, ann: Announcement, rule: str | None = None,
            matcher: Matcher | None = None) -> list[Why]:
    """One Why per rule of `ruleset` (or only `rule`), in rules.yaml order."""
    matcher = matcher or Matcher(ruleset)
    ex = _Explainer(ruleset, ann)
    out = []
    for r in ruleset.rules:
        if rule is None or r.name == rule:
            out.append(ex.why(r, matcher.match_rule(r.name, ann)))
    return out


class _Explainer:
    def __init__(self, ruleset: RuleSet, ann: Announcement) -> None:
        self.ann = ann
        self.groups: dict[str, list[str]] = {}
        self.group_of: dict[str, str] = {}  # identity of a word -> the name of its named group
        names = ruleset.synonym_names or (None,) * len(ruleset.synonyms)
        for words, name in zip(ruleset.synonyms, names, strict=False):
            for word in words:
                self.groups.setdefault(_identity(word), []).extend(words)
                if name:
                    self.group_of.setdefault(_identity(word), name)
        self.raw = {f: getattr(ann, f, None) or "" for f in FIELDS}
        self.norm = {f: normalize(text.replace("\0", " ")) for f, text in self.raw.items()}

    def words(self, keyword: str) -> list[str]:
        return list(dict.fromkeys([keyword, *self.groups.get(_identity(keyword), [])]))

    def find(self, keyword: str, fields: tuple[str, ...]) -> _Found | None:
        """Where `keyword` (or a word of its group) matches, in the first of `fields` that has it."""
        for f in fields:
            for word in self.words(keyword):
                m = _compile_keyword(word).search(self.norm[f])
                if m and m.end() > m.start():
                    return _Found(keyword, word, f, original_text(self.raw[f], self.norm[f], m.start(), m.end()))
        return None

    def why(self, rule: Rule, hit: object) -> Why:
        fields = tuple(f for f in rule.fields if f in FIELDS) or ("title", "summary")
        others = tuple(f for f in FIELDS if f not in fields)
        where = ", ".join(fields)
        if hit is not None:
            words = ", ".join(f"{t} ({FIELD_NAMES.get(f, f)})" for f, t in getattr(hit, "words", ()))
            return Why(rule.name, True, "matched", f"matched: {words}")
        if rule.sources and self.ann.source not in rule.sources:
            return Why(rule.name, False, "source",
                       f"source filter: the rule reads only {', '.join(rule.sources)}; this item is from "
                       f"{self.ann.source}")
        for kw in rule.none:
            found = self.find(kw, fields)
            if found:
                return self._why(rule, "none", found, f"excluded by `none` keyword {_shown(kw)}: the item has "
                                 f"'{found.text}' in {found.field}")
        for kw in rule.all:
            if not self.find(kw, fields):
                elsewhere = self.find(kw, others)
                if elsewhere:
                    return self._why(rule, "all", elsewhere, f"`all` keyword {_shown(kw)} is only in "
                                     f"{elsewhere.field} ('{elsewhere.text}'), a field the rule does not "
                                     f"search (it searches {where})")
                return Why(rule.name, False, "all", f"`all` keyword {_shown(kw)} is not in {where}", kw)
        for kw in rule.any:
            elsewhere = self.find(kw, others)
            if elsewhere:
                return self._why(rule, "field", elsewhere, f"keyword {_shown(kw)} is in {elsewhere.field} "
                                 f"('{elsewhere.text}'), a field the rule does not search (it searches {where})")
        return self._closest(rule, fields)

    def _why(self, rule: Rule, reason: str, found: _Found, detail: str) -> Why:
        group = self.group_of.get(_identity(found.word))
        if group and _identity(found.word) != _identity(found.keyword):
            detail += f" (through synonym group '{group}')"
        return Why(rule.name, False, reason, detail, found.keyword, found.field, found.text, group)

    def _closest(self, rule: Rule, fields: tuple[str, ...]) -> Why:
        best: tuple[float, int, str, str, str, str, str] | None = None  # score, size, kw, word, field, text, how
        common: dict[str, None] = {}  # the item's words, as published, that only common words brought
        for kw in rule.any:
            for word in self.words(kw):
                for f in fields:
                    if not self.norm[f]:
                        continue
                    got = _closeness(word, self.raw[f], self.norm[f])
                    if got and not got[0]:
                        common.update(dict.fromkeys(got[2].split(", ")))
                    elif got and (best is None or got[:2] > best[:2]):
                        best = (got[0], got[1], kw, word, f, got[2], got[3])
        where = ", ".join(fields)
        if best is None and common:
            words = [w for w in common if not any(w != other and w in other for other in common)]  # 기업 of 소기업
            shown = ", ".join(f"'{w}'" for w in words[:5]) + (", ..." if len(words) > 5 else "")
            return Why(rule.name, False, "closest", f"no `any` keyword is in {where}; of its keywords, only words "
                       f"too common to tell are there ({shown})")
        if best is None:
            return Why(rule.name, False, "closest", f"no `any` keyword, nor any piece of one, is in {where}")
        score, _, kw, word, f, text, how = best
        group = self.group_of.get(_identity(word))
        via = f" (synonym '{word}' of group '{group}')" if _identity(word) != _identity(kw) and group else (
            f" (synonym '{word}')" if _identity(word) != _identity(kw) else "")
        return Why(rule.name, False, "closest", f"no `any` keyword is in {where}; closest: {_shown(kw)}{via}, "
                   f"{how} in {f}", kw, f, text, group, round(score, 3))


def _shown(keyword: str) -> str:
    return f"`{keyword}`"


def _closeness(word: str, raw: str, norm: str) -> tuple[float, int, str, str] | None:
    """(score 0..1, size, the item's words, how) for the largest telling piece of `word` found in a text;
    score 0 (and the item's words) when only common words of it are there; None when nothing is."""
    squashed = _squash(norm)
    if _is_regex(word):
        parts = required_words(_compile_keyword(word))
        if not parts:
            return None
        # per part, the word there (a telling alternative first)
        present = [min((w for w in part if w in squashed), key=common_word) for part in parts
                   if any(w in squashed for w in part)]
        if not present:
            return None
        text = ", ".join(dict.fromkeys(_piece(raw, norm, w) for w in present))
        telling = [w for w in present if not common_word(w)]
        if not telling:
            return 0.0, 0, text, ""
        missing = ["/".join(sorted(part)) for part in parts if not any(w in squashed for w in part)]
        how = (f"its words '{text}' are there, not {', '.join(missing)}" if missing else
               f"its words '{text}' are there, but not as the pattern places them")
        weight = sum(1 for part in parts if not all(map(common_word, part)))  # the telling parts
        return 0.9 * len(telling) / weight, sum(map(len, present)), text, how
    key = _identity(word)
    if key and key in squashed:  # every letter there: a Latin end touches a Latin letter or digit
        text = _piece(raw, norm, key)
        return (0.99, len(key), text, f"'{text}' is there, but not as a whole word (a keyword's Latin "
                "letters and digits match whole words, written together)")
    common: list[str] = []
    for size in range(len(key) - 1, 1, -1):
        for start in range(len(key) - size + 1):
            piece = key[start:start + size]
            if piece in squashed:
                text = _piece(raw, norm, piece)
                if common_word(piece):  # hidden, so that its own pieces (소기 of 소기업 in 중소기업) are not found
                    common.append(text)
                    squashed = squashed.replace(piece, "\0" * len(piece))
                    continue
                return (size / len(key), size, text, f"the item has '{text}' ({size} of {len(key)} letters)")
    return (0.0, 0, ", ".join(dict.fromkeys(common)), "") if common else None


def common_word(word: str) -> bool:
    """Whether a keyword's word (space-free, case-folded) is made only of COMMON_WORDS (기술창업 too)."""
    ends = {0}  # where a run of common words can end
    for end in range(1, len(word) + 1):
        if any(word[start:end] in COMMON_WORDS for start in ends if start < end):
            ends.add(end)
    return len(word) in ends and bool(word)


def required_words(pattern: re.Pattern[str]) -> list[set[str]] | None:
    """The literal words a match of `pattern` needs, in order, each as its alternatives
    (`(의료|병원)[^,]{0,12}(전시회|박람회)` -> [{의료, 병원}, {전시회, 박람회}]); space-free and
    case-folded; None when the pattern cannot be read."""
    try:
        from re import _constants as sre
        from re import _parser

        tree = _parser.parse(pattern.pattern, pattern.flags)
    except Exception:  # a private module: if it changes, do without
        return None

    def literal(items: Any) -> str | None:
        if all(op is sre.LITERAL for op, _ in items):
            return _squash("".join(chr(av) for _, av in items)).lower() or None
        return None

    def alternatives(op: Any, av: Any) -> set[str] | None:
        if op is sre.SUBPATTERN:
            inner = list(av[3])
            if len(inner) == 1:
                return alternatives(*inner[0])
            word = literal(inner)
            return {word} if word else None
        if op is sre.BRANCH:
            words = [literal(list(alt)) for alt in av[1]]
            return set(words) if all(words) else None  # type: ignore[arg-type]
        return None  # a class, a repeat, an optional part: no word it must hold

    out: list[set[str]] = []
    run: list[str] = []
    for op, av in [*tree, (None, None)]:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        word = _squash("".join(run)).lower()
        run = []
        if len(word) > 1:  # one letter (what a regex's alternatives share) says nothing
            out.append({word})
        if op is None:
            break
        found = alternatives(op, av)
        if found and min(map(len, found)) > 1:
            out.append(found)
    return out


def _piece(raw: str, norm: str, squashed: str) -> str:
    """The item's words (as published) behind a space-free piece of its normalised text."""
    m = re.search(r"\s*".join(map(re.escape, squashed)), norm)
    if m is None:
        return squashed
    return original_text(raw, norm, m.start(), m.end())
