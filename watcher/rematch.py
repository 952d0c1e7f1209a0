"""Edited rules take effect on what is stored: no source is fetched again for that.

At the start of `once`, and of `run` and each of its reloads, `apply_rules` compares the rules
loaded with the rules in force (a fingerprint kept in the store). When they differ, every stored
announcement within `max_age` is matched again under the new rules:
  - its matches become exactly the new hits (rules that no longer match are dropped; `search
    --rule` and the web page follow, the index's rule tokens are rewritten);
  - its hits are queued as alerts like those of a freshly polled item: one per announcement and
    channel, never again for a (key, channel) already alerted or queued (a pending one gains the
    new rules); calls whose deadline is before today (Korea time) and a source's first-poll
    baseline (undated items of its first poll) are not alerted;
  - the new rules are recorded as in force, in the same transaction.
Announcements older than `max_age` keep the matches they were stored with (`rules test` applies
the current rules to all of them). The fingerprint covers what decides matches and alerts — rules,
synonyms, max_age — so an edit of comments or layout only records the new text.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .match import Matcher
from .models import Config, Hit, RuleSet
from .store import KST, match_row
from .store_rematch import Rewrite, StoredItem

if TYPE_CHECKING:
    from .store import Store


@dataclass
class RematchReport:
    checked: int = 0  # stored announcements matched again
    changed: int = 0  # of which the matches changed
    alerts_queued: int = 0
    seconds: float = 0.0


def fingerprint(rules: RuleSet) -> str:
    """What the rules decide, without where they sit in the file (line numbers) or comments."""
    plain = replace(rules, rules=tuple(replace(rule, line=0) for rule in rules.rules))
    return hashlib.sha256(repr(plain).encode("utf-8")).hexdigest()


def _same(item: StoredItem, hits: list[Hit]) -> bool:
    """Do the stored matches say exactly what `hits` say (channel, keywords and words per rule)?"""
    if len(item.matches) != len(hits):
        return False
    for hit in hits:
        if item.matches.get(hit.rule) != match_row(item.ann, hit, "")[3:6]:
            return False
    return True


def plan(matcher: Matcher, items: Iterable[StoredItem]) -> tuple[list[Rewrite], int]:
    """Pure: the rewrites of stored items under `matcher` -> (rewrites worth writing, items checked).
    A rewrite is worth writing when its matches changed or its hits may be alerted."""
    out: list[Rewrite] = []
    checked = 0
    for item in items:
        checked += 1
        hits = matcher.match(item.ann)
        changed = not _same(item, hits)
        earned = bool(hits) and item.alertable
        if changed or earned:
            out.append(Rewrite(item, hits, changed, earned))
    return out, checked


def apply_rules(store: Store, config: Config, now: datetime, matcher: Matcher | None = None
                ) -> RematchReport | None:
    """Bring stored matches and alerts in line with `config.rules` when they are not the rules in
    force; None when they are (then only a changed rules.yaml text is recorded)."""
    started = time.perf_counter()
    new_print = fingerprint(config.rules)
    if store.meta_value("rules_fingerprint") == new_print:
        if config.rules_text is not None and store.meta_value("rules_in_force") != config.rules_text:
            store.record_rules(new_print, config.rules_text)
        return None
    matcher = matcher or Matcher(config.rules)
    oldest = int((now - timedelta(seconds=config.rules.max_age)).timestamp())
    today = now.astimezone(KST).date() if now.tzinfo else now.date()
    rewrites, checked = plan(matcher, store.rematch_rows(oldest, today.isoformat()))
    queued = store.apply_rematch(rewrites, now, new_print, config.rules_text)
    changed = sum(rw.changed for rw in rewrites)
    return RematchReport(checked, changed, queued, time.perf_counter() - started)
