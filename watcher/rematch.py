"""Edited rules take effect on what is stored: no source is fetched again for that.

At the start of `once`, and of `run` and each of its reloads, `apply_rules` compares the rules
loaded with the rules in force (fingerprints kept in the store: one per rule, with the synonym
groups its keywords belong to, and max_age). The rules that differ (new, edited or removed ones) are
applied again to every stored announcement within `max_age`; all rules are when max_age changed or
nothing usable is stored (a first run, an older database):
  - the announcement's matches of those rules become exactly their new hits (a rule that no longer
    matches is dropped; `search --rule` and the web page follow, the index's rule tokens too);
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

import hashlib
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .match import Matcher, keyword_identity
from .models import Announcement, Config, Hit, Rule, RuleSet
from .store import KST, match_row
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


def _same(old: dict[str, StoredMatch], item: StoredItem, hits: list[Hit]) -> bool:
    """Do the stored matches `old` say exactly what `hits` say (channel, keywords and words per rule)?"""
    if len(old) != len(hits):
        return False
    for hit in hits:
        if old.get(hit.rule) != match_row(item.ann, hit, "")[3:6]:
            return False
    return True


PARALLEL_MIN = 20_000  # stored items from which matching is spread over the cores
_CHUNK = 5_000
_pool_matcher: Matcher | None = None  # in each forked worker


def _init(matcher: Matcher, parent: int) -> None:
    global _pool_matcher
    from .workers import die_with_parent

    die_with_parent(parent)  # a killed `once` / `run` leaves no worker behind
    _pool_matcher = matcher


def _match_chunk(anns: list[Announcement]) -> list[list[Hit]]:
    assert _pool_matcher is not None
    return [_pool_matcher.match(ann) for ann in anns]


def match_all(matcher: Matcher, anns: list[Announcement]) -> list[list[Hit]]:
    """Each announcement's hits. Many of them are matched in forked processes, one per core, when
    this process has no other thread (forking copies no lock then); else here."""
    cores = min(4, os.cpu_count() or 1)
    if (len(anns) < PARALLEL_MIN or cores < 2 or threading.active_count() > 1
            or "fork" not in multiprocessing.get_all_start_methods()):
        return [matcher.match(ann) for ann in anns]
    chunks = [anns[i:i + _CHUNK] for i in range(0, len(anns), _CHUNK)]
    with ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("fork"), initializer=_init,
                             initargs=(matcher, os.getpid())) as pool:
        return [hits for part in pool.map(_match_chunk, chunks) for hits in part]


def plan(matcher: Matcher, items: Iterable[StoredItem], scope: set[str] | None = None
         ) -> tuple[list[Rewrite], int]:
    """The rewrites of stored items under `matcher` (holding the rules in `scope`; None: every rule,
    and stored matches of any rule are replaced) -> (rewrites worth writing, items checked). No I/O.
    A rewrite is worth writing when its matches changed or its hits may be alerted."""
    stored = list(items)
    out: list[Rewrite] = []
    for item, hits in zip(stored, match_all(matcher, [item.ann for item in stored]), strict=True):
        old = item.matches if scope is None else {r: m for r, m in item.matches.items() if r in scope}
        changed = not _same(old, item, hits)
        earned = bool(hits) and item.alertable
        if changed or earned:
            out.append(Rewrite(item, hits, old, changed, earned))
    return out, len(stored)


def apply_rules(store: Store, config: Config, now: datetime, matcher: Matcher | None = None
                ) -> RematchReport | None:
    """Bring stored matches and alerts in line with `config.rules` when they are not the rules in
    force; None when they are (then only a changed rules.yaml text is recorded). `matcher`: one
    already compiled for config.rules, used when every rule is to be applied again."""
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
    rewrites, checked = plan(matcher, store.rematch_rows(oldest, today.isoformat()), scope)
    queued = store.apply_rematch(rewrites, now, new_print, config.rules_text)
    changed = sum(rw.changed for rw in rewrites)
    return RematchReport(checked, changed, queued, time.perf_counter() - started)
