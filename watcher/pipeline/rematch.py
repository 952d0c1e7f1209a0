"""Edited rules take effect on what is stored: no source is fetched again for that.

At the start of `once`, and of `run` and each of its reloads, `apply_rules` compares the rules
loaded with the rules in force (a fingerprint kept in the store: per rule a digest and what it
decides, with the synonym groups its keywords belong to, and max_age). The rules that differ (new,
edited or removed ones) are applied again to the stored announcements within `max_age` that the
edit can move (watcher/rulediff.py: a keyword added to `any` or `none` reaches those holding it, a
narrowing edit the rule's stored matches, a label or reminder edit none, a widening edit all);
every rule is applied to every one when nothing usable is stored (a first run, an older database)
or max_age changed with other edits; when only max_age changed, every rule is applied to the
stored announcements a longer max_age brings in (none for a shorter one):
  - the announcement's matches of those rules become exactly their new hits (a rule that no longer
    matches is dropped; `search --rule` and the web page follow: they read the matches);
  - their new or changed hits are queued as alerts like those of a freshly polled item: one per
    announcement and channel, never again for a (key, channel) already alerted or queued (a
    pending one gains the new rules); calls whose deadline is before today (Korea time) and a
    source's first-poll baseline (undated items of its first poll) are not alerted;
  - the new rules are recorded as in force, in the same transaction.
Matches of unchanged rules stay as stored (they came from the same rule), and so do the words of a
match whose keywords, fields and synonyms are unchanged (they are not searched for again).
Announcements older than `max_age` keep the matches they were stored with (`rules test` applies
the current rules to all of them). An edit of comments or layout only records the new text.
"""

from __future__ import annotations

import gc
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from watcher.match.matcher import Matcher, Words, keyword_identity
from watcher.match.rulediff import definitions, reach
from watcher.models import Config, Hit, Rule, RuleSet
from watcher.pipeline import forking
from watcher.store import KST, keywords_json, match_columns
from watcher.store.rematch import Rewrite, StoredItem, StoredMatch, Window, read_part, read_rows

if TYPE_CHECKING:
    from watcher.store import Store


@dataclass
class RematchReport:
    checked: int = 0  # stored announcements matched again
    changed: int = 0  # of which the matches changed
    alerts_queued: int = 0
    seconds: float = 0.0


def fingerprint(rules: RuleSet) -> str:
    """The rules in force as stored: per rule a digest of what it decides (not where it sits in the
    file), synonyms included, and max_age. JSON."""
    groups = [(group, {keyword_identity(w) for w in group}) for group in rules.synonyms]

    def digest(rule: Rule) -> str:
        words = {keyword_identity(w) for w in (*rule.any, *rule.all, *rule.none)}
        synonyms = [group for group, ids in groups if ids & words]  # only the groups it uses
        text = repr((replace(rule, line=0), synonyms))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    return json.dumps({"max_age": rules.max_age, "rules": {r.name: digest(r) for r in rules.rules},
                       "defs": definitions(rules)}, sort_keys=True, ensure_ascii=False)


def changed_rules(stored: str | None, new: str) -> set[str] | None:
    """Names of the rules whose matches a change of fingerprint (`stored` -> `new`) makes stale:
    new, edited and removed ones; None for all of them (max_age changed, or nothing usable stored)."""
    try:
        old = json.loads(stored or "")
        old_rules, old_age = dict(old["rules"]), old["max_age"]
    except (ValueError, TypeError, KeyError):
        return None
    now = json.loads(new)
    if old_age != now["max_age"]:
        return None
    names = set(old_rules) | set(now["rules"])
    return {n for n in names if old_rules.get(n) != now["rules"].get(n)}


def max_age_only(stored: str | None, new: str) -> float | None:
    """The max_age in force before, when an edit changed max_age and nothing else (every rule decides
    as before); else None. Items inside the old window are then up to date: only those a longer
    max_age brings in are matched again (they may hold matches of rules edited since they left)."""
    try:
        old, now = json.loads(stored or ""), json.loads(new)
        if old["rules"] == now["rules"] and old["max_age"] != now["max_age"]:
            return float(old["max_age"])
    except (ValueError, TypeError, KeyError):
        pass
    return None


def _same(old: dict[str, StoredMatch], hits: list[Hit], kept: set[str]) -> bool:
    """Do the stored matches `old` say exactly what `hits` say (channel, keywords and words per rule)?
    `kept`: rules whose hit took its words from the stored match (they are the same)."""
    if len(old) != len(hits):
        return False
    for hit in hits:
        stored = old.get(hit.rule)
        if stored is None:
            return False
        if hit.rule in kept:
            continue
        if stored != match_columns(hit):
            return False
    return True


@lru_cache(maxsize=65_536)
def _stored_words(text: str | None) -> Words | None:
    """Hit.words from a matches row's words JSON; None when it cannot be read."""
    try:
        return tuple((w["field"], w["text"]) for w in json.loads(text or ""))
    except (ValueError, TypeError, KeyError):
        return None


@dataclass(frozen=True)
class Judgement:
    """How stored items are judged again. An item none of `screens` lets through (Matcher.screen)
    and without a stored match of the rules applied again cannot gain one: it is skipped."""

    matcher: Matcher  # the rules applied again, as edited
    screens: tuple[Matcher, ...]  # what an item may newly match on (see watcher/rulediff.py)
    complete: bool  # the screens hold every rule of `matcher` whole: an item they stop has no hit at all
    read: frozenset[str] | None  # the rules whose stored matches are read (and rewritten); None: all
    kept: frozenset[str] = frozenset()  # rules whose stored words stay true for the same keywords
    recheck: frozenset[str] | None = None  # rules whose stored matches are matched again (None: all)
    # True: the stored matches were alerted as they were stored (within the window, under the
    # rules in force): only a changed match may earn an alert. False: any hit may (max_age grew).
    changes_only: bool = False


PARALLEL_MIN = 20_000  # stored items from which matching is spread over the cores
SCREEN = 2_000  # items screened (Matcher.screen) in one call
Verdict = tuple[int, list[Hit], bool, bool]  # (index in the items, hits, matches changed, earned)
_pool: tuple[Judgement, list[StoredItem]] | None = None  # what forked workers judge (inherited, not sent)


def judge(how: Judgement, items: list[StoredItem], start: int, stop: int) -> list[Verdict]:
    """The verdicts worth acting on for items[start:stop]: matches changed or hits that may be
    alerted. Items screened out keep what they had (none) or, when the screens are complete, have
    no hits; the others are matched."""
    out: list[Verdict] = []
    matcher, kept_rules, complete, recheck = how.matcher, how.kept, how.complete, how.recheck
    for low in range(start, stop, SCREEN):
        part = items[low:min(low + SCREEN, stop)]
        maybe = [False] * len(part)
        texts: list[str] = []  # normalised by a screen with the matcher's fields: not done twice
        for screen in how.screens:
            same = not texts and screen.fields == matcher.fields
            maybe = [a or b for a, b in zip(maybe, screen.screen(part, texts if same else None), strict=True)]
        if len(texts) != len(part):
            texts = []
        for i, (item, may) in enumerate(zip(part, maybe, strict=True), low):
            stored = item.matches
            if not may and (complete or not stored or (recheck is not None and recheck.isdisjoint(stored))):
                if stored and complete:  # the screens hold every rule: it has no hit now
                    out.append((i, [], True, False))
                continue
            kept: set[str] = set()

            def known(hit: Hit, stored: dict[str, StoredMatch] = stored, kept: set[str] = kept) -> Words | None:
                old = stored.get(hit.rule)
                if old is None or hit.rule not in kept_rules or old[0] != hit.channel \
                        or old[1] != keywords_json(hit.keywords):
                    return None
                words = _stored_words(old[2])
                if words is not None:
                    kept.add(hit.rule)
                return words

            # the stored item has the text fields (and source) match reads: no Announcement needed
            hits = matcher.match(item, known if stored else None, texts[i - low] if texts else None)  # type: ignore[arg-type]
            if not hits and not stored:
                continue
            changed = not _same(stored, hits, kept)
            earned = bool(hits) and (changed or not how.changes_only) and item.alertable
            if changed or earned:
                out.append((i, hits, changed, earned))
    return out


def _judge_range(bounds: tuple[int, int]) -> list[Verdict]:
    assert _pool is not None
    return judge(*_pool, *bounds)


def _may_fork(size: int) -> bool:
    """Are `size` items worth forking workers for, and may this process fork now (forking.may_fork:
    no other thread, a fork start method)?"""
    return size >= PARALLEL_MIN and forking.may_fork()


def _fan_out(how: Judgement, work: Callable[[Any], Any], parts: list[Any]) -> list[Any]:
    """work(part) for each part, in forked workers, one per core. `how`'s matchers are compiled
    here first, so every worker inherits one build; what work reads is set before the call."""
    for m in (how.matcher, *how.screens):
        m.screen([])  # compiles each once here (with its screen), not in every worker
    with forking.pool(forking.cores()) as pool:
        return list(pool.map(work, parts))


def judge_all(how: Judgement, items: list[StoredItem]) -> list[Verdict]:
    """judge() over all items: in forked processes, one per core (each reads the items from the
    memory it was forked with; only verdicts come back), when _may_fork; else here."""
    global _pool
    if not _may_fork(len(items)):
        return judge(how, items, 0, len(items))
    step = -(-len(items) // (2 * forking.cores()))
    bounds = [(low, min(low + step, len(items))) for low in range(0, len(items), step)]
    _pool = (how, items)
    try:
        return [v for part in _fan_out(how, _judge_range, bounds) for v in part]
    finally:
        _pool = None


def plan(how: Judgement, items: list[StoredItem]) -> tuple[list[Rewrite], int]:
    """The rewrites of stored items (with their stored matches of the rules `how` applies) ->
    (rewrites worth writing, items checked). No I/O. A rewrite is worth writing when its matches
    changed or its hits may be alerted."""
    return _rewrites(items, judge_all(how, items)), len(items)


def _rewrites(items: list[StoredItem], verdicts: list[Verdict]) -> list[Rewrite]:
    return [Rewrite(items[i].ann, hits, items[i].matches, changed, earned) for i, hits, changed, earned in verdicts]


_reading: tuple[Judgement, str] | None = None  # what forked readers judge, and the database they read


def plan_window(how: Judgement, store: Store, window: Window) -> tuple[list[Rewrite], int]:
    """plan() over the stored announcements of `window`. When they are many and workers may be
    forked (_may_fork), each worker reads its own part of the window (its own connection, in
    parallel) and sends back only the rewrites; else the rows are read here."""
    global _reading
    if store.conn.in_transaction or str(store.path) == ":memory:" or not _may_fork(window.size):
        return plan(how, read_rows(store.conn, window))
    parts = window.parts(store.conn, 2 * forking.cores())
    _reading = (how, str(store.path))
    try:  # forked while this process holds no lock on the database (no transaction, no open cursor)
        done = _fan_out(how, _plan_part, parts)
    finally:
        _reading = None
    return [rw for rewrites, _ in done for rw in rewrites], sum(n for _, n in done)


def _plan_part(part: Window) -> tuple[list[Rewrite], int]:
    """In a forked worker: read one part of the window on a connection of its own, and judge it."""
    assert _reading is not None
    how, path = _reading
    items = read_part(path, part)
    return _rewrites(items, judge(how, items, 0, len(items))), len(items)


def judgement(rules: RuleSet, stored: str | None, new_print: str, matcher: Matcher | None = None
              ) -> Judgement | None:
    """How to apply `rules` (fingerprint `new_print`) to what was stored under the fingerprint in
    force `stored`; None when no edit reaches a stored match (only a label, reminder or comment
    changed). `matcher`: one already compiled for `rules`, used when every rule applies again."""
    scope = changed_rules(stored, new_print)
    if scope is None:  # max_age changed, or nothing usable in force: every rule, every item
        whole = matcher or Matcher(rules)
        return Judgement(whole, (whole,), True, None)
    old, new = _definitions(stored), definitions(rules)
    reaches = {name: reach(old.get(name), new.get(name)) for name in scope}
    if not any(r.matters for r in reaches.values()):
        return None
    again = tuple(r for r in rules.rules if r.name in scope and reaches[r.name].matters)
    whole = tuple(r for r in again if reaches[r.name].everything)
    moving = {r.name: (*reaches[r.name].added, *reaches[r.name].excluded) for r in again
              if not reaches[r.name].everything}  # the keywords whose presence may move an item
    added = tuple(replace(r, any=moving[r.name], all=(), none=()) for r in again if moving.get(r.name))
    screens = tuple(Matcher(replace(rules, rules=part)) for part in (whole, added) if part)
    kept = frozenset(name for name, r in reaches.items() if r.words_kept)
    read = frozenset(name for name, r in reaches.items() if r.matters)  # removed rules too: dropped
    recheck = frozenset(name for name, r in reaches.items() if r.matters and r.recheck)
    return Judgement(Matcher(replace(rules, rules=again)), screens, len(whole) == len(again), read, kept,
                     recheck, changes_only=True)


def _definitions(stored: str | None) -> dict[str, Any]:
    """The rule definitions kept in a stored fingerprint ({} when it has none)."""
    try:
        defs = json.loads(stored or "").get("defs")
    except (ValueError, AttributeError):
        return {}
    return defs if isinstance(defs, dict) else {}


def apply_rules(store: Store, config: Config, now: datetime, matcher: Matcher | None = None
                ) -> RematchReport | None:
    """Bring stored matches and alerts in line with `config.rules` when they are not the rules in
    force; None when they are, or when the edit reaches no stored match (then only the new rules
    and the rules.yaml text are recorded). `matcher`: one already compiled for config.rules, used
    when every rule is to be applied again."""
    paused = gc.isenabled()
    gc.disable()  # it holds every row of the window: full collections would walk them again and again
    try:
        return _apply_rules(store, config, now, matcher)
    finally:
        if paused:
            gc.enable()


def _apply_rules(store: Store, config: Config, now: datetime, matcher: Matcher | None) -> RematchReport | None:
    started = time.perf_counter()
    new_print = fingerprint(config.rules)
    stored = store.meta_value("rules_fingerprint")
    if stored == new_print:
        if config.rules_text is not None and store.meta_value("rules_in_force") != config.rules_text:
            store.record_rules(new_print, config.rules_text)
        return None
    how = judgement(config.rules, stored, new_print, matcher)
    if how is None:
        store.record_rules(new_print, config.rules_text)
        return None
    oldest = int((now - timedelta(seconds=config.rules.max_age)).timestamp())
    today = now.astimezone(KST).date() if now.tzinfo else now.date()
    before = max_age_only(stored, new_print)
    texts = any(f in ("body", "attachments") for rule in config.rules.rules for f in rule.fields)  # read calls'
    if before is None:
        window = Window.of(store.conn, oldest, today.isoformat(), how.read, texts=texts)
        rewrites, checked = plan_window(how, store, window)
    elif before < config.rules.max_age:  # the items the longer max_age brings in, under every rule
        newest = int((now - timedelta(seconds=before)).timestamp())
        window = Window.of(store.conn, oldest, today.isoformat(), None, newest, texts=texts)
        rewrites, checked = plan_window(how, store, window)
    else:  # a shorter max_age: what stays inside is up to date
        rewrites, checked = [], 0
    queued = store.apply_rematch(rewrites, now, new_print, config.rules_text)
    changed = sum(rw.changed for rw in rewrites)
    return RematchReport(checked, changed, queued, time.perf_counter() - started)
