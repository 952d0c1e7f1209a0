"""Edited rules take effect on what is stored: no source is fetched again for that.

At the start of `once`, and of `run` and each of its reloads, `apply_rules` compares the rules
loaded with the rules in force (fingerprints kept in the store: one per rule, with the synonym
groups its keywords belong to, and max_age). The rules that differ (new, edited or removed ones) are
applied again to every stored announcement within `max_age`; all rules are when nothing usable is
stored (a first run, an older database), and when only max_age changed they are applied to the
stored announcements a longer max_age brings in (none for a shorter one):
  - the announcement's matches of those rules become exactly their new hits (a rule that no longer
    matches is dropped; `search --rule` and the web page follow: they read the matches);
  - their hits are queued as alerts like those of a freshly polled item: one per announcement and
    channel, never again for a (key, channel) already alerted or queued (a pending one gains the
    new rules); calls whose deadline is before today (Korea time) and a source's first-poll
    baseline (undated items of its first poll) are not alerted;
  - the new rules are recorded as in force, in the same transaction.
Matches of unchanged rules stay as stored (they came from the same rule). Announcements older than
`max_age` keep the matches they were stored with (`rules test` applies the current rules to all of
them). An edit of comments or layout only records the new text.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .match import Matcher, keyword_identity
from .models import Config, Hit, Rule, RuleSet
from .store import KST, match_columns
from .store_rematch import Rewrite, StoredItem, StoredMatch

if TYPE_CHECKING:
    from .store import Store


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

    return json.dumps({"max_age": rules.max_age, "rules": {r.name: digest(r) for r in rules.rules}},
                      sort_keys=True, ensure_ascii=False)


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


def _same(old: dict[str, StoredMatch], hits: list[Hit]) -> bool:
    """Do the stored matches `old` say exactly what `hits` say (channel, keywords and words per rule)?"""
    if len(old) != len(hits):
        return False
    return all(old.get(hit.rule) == match_columns(hit) for hit in hits)


PARALLEL_MIN = 20_000  # stored items from which matching is spread over the cores
SCREEN = 2_000  # items screened (Matcher.screen) in one call
Verdict = tuple[int, list[Hit], bool, bool]  # (index in the items, hits, matches changed, earned)
_pool: tuple[Matcher, list[StoredItem]] | None = None  # what forked workers judge (inherited, not sent)


def judge(matcher: Matcher, items: list[StoredItem], start: int, stop: int) -> list[Verdict]:
    """The verdicts worth acting on for items[start:stop]: matches changed or hits that may be
    alerted. Items screened out have no hits; the others are matched."""
    out: list[Verdict] = []
    for low in range(start, stop, SCREEN):
        part = items[low:min(low + SCREEN, stop)]
        for i, (item, maybe) in enumerate(zip(part, matcher.screen(part), strict=True), low):
            if not maybe and not item.matches:
                continue
            ann = item.ann
            hits = matcher.match(ann) if maybe else []
            if not hits and not item.matches:
                continue
            changed = not _same(item.matches, hits)
            earned = bool(hits) and item.alertable
            if changed or earned:
                out.append((i, hits, changed, earned))
    return out


def _init(parent: int) -> None:
    from .workers import die_with_parent

    die_with_parent(parent)  # a killed `once` / `run` leaves no worker behind


def _judge_range(bounds: tuple[int, int]) -> list[Verdict]:
    assert _pool is not None
    return judge(*_pool, *bounds)


def judge_all(matcher: Matcher, items: list[StoredItem]) -> list[Verdict]:
    """judge() over all items: in forked processes, one per core (each reads the items from the
    memory it was forked with; only verdicts come back), when there are many and this process has
    no other thread (forking copies no lock then); else here."""
    global _pool
    cores = min(4, os.cpu_count() or 1)
    if len(items) < PARALLEL_MIN or cores < 2 or threading.active_count() > 1:
        return judge(matcher, items, 0, len(items))
    import multiprocessing  # here: an unchanged-rules run never pays for it
    from concurrent.futures import ProcessPoolExecutor

    if "fork" not in multiprocessing.get_all_start_methods():
        return judge(matcher, items, 0, len(items))
    _ = matcher.rule_names  # compiles it once here, not in every worker
    step = -(-len(items) // (2 * cores))
    bounds = [(low, min(low + step, len(items))) for low in range(0, len(items), step)]
    _pool = (matcher, items)
    try:
        with ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("fork"), initializer=_init,
                                 initargs=(os.getpid(),)) as pool:
            return [v for part in pool.map(_judge_range, bounds) for v in part]
    finally:
        _pool = None


def plan(matcher: Matcher, items: list[StoredItem]) -> tuple[list[Rewrite], int]:
    """The rewrites of stored items (with their stored matches of the rules `matcher` holds) ->
    (rewrites worth writing, items checked). No I/O. A rewrite is worth writing when its matches
    changed or its hits may be alerted."""
    rewrites = [Rewrite(items[i], items[i].ann, hits, items[i].matches, changed, earned)
                for i, hits, changed, earned in judge_all(matcher, items)]
    return rewrites, len(items)


def apply_rules(store: Store, config: Config, now: datetime, matcher: Matcher | None = None
                ) -> RematchReport | None:
    """Bring stored matches and alerts in line with `config.rules` when they are not the rules in
    force; None when they are (then only a changed rules.yaml text is recorded). `matcher`: one
    already compiled for config.rules, used when every rule is to be applied again."""
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
    scope = changed_rules(stored, new_print)
    if scope is None:
        matcher = matcher or Matcher(config.rules)
    else:
        matcher = Matcher(replace(config.rules, rules=tuple(r for r in config.rules.rules if r.name in scope)))
    oldest = int((now - timedelta(seconds=config.rules.max_age)).timestamp())
    today = now.astimezone(KST).date() if now.tzinfo else now.date()
    before = max_age_only(stored, new_print)
    if before is None:
        items = store.rematch_rows(oldest, today.isoformat(), scope)
    elif before < config.rules.max_age:  # the items the longer max_age brings in, under every rule
        items = store.rematch_rows(oldest, today.isoformat(), None, int((now - timedelta(seconds=before)).timestamp()))
    else:  # a shorter max_age: what stays inside is up to date
        items = []
    rewrites, checked = plan(matcher, items)
    queued = store.apply_rematch(rewrites, now, new_print, config.rules_text)
    changed = sum(rw.changed for rw in rewrites)
    return RematchReport(checked, changed, queued, time.perf_counter() - started)
