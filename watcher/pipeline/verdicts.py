"""Edits and polls agree: an item is stored with the verdict of the rules in force when it is stored.

A poll is matched in a worker while it is in flight; a rules edit may take effect meanwhile (`run`
reloads and re-matches what is stored, while the poll still holds the old rules' verdicts), and the
next poll of that source is likely a 304, so a wrong verdict would stay for good. So, when a poll is
stored (inside its transaction):
  - matched by another Matcher than the cycle's current one (a reload came while it was in flight):
    its items are matched again with the current one (pure, no fetch);
  - matched by rules other than those in force in the store (another process, `once` beside `run`,
    put other rules in force meanwhile): its items are stored as judged, and the rules in force are
    marked stale (`STALE` + the old fingerprint), so the next `apply_rules` (the next `once`, or
    `run` at its next round) matches every stored announcement within max_age again.
`record_timeouts` keeps the `re:` keywords that ran out of time (watcher/match/guard.py) in the store
(meta `match_timeouts`): per keyword its rules, how often, and the last announcement; `watcher status`
names them.
"""

from __future__ import annotations

import json
import logging
import weakref
from datetime import datetime
from typing import TYPE_CHECKING, Any

from watcher.match import guard
from watcher.match.matcher import Matcher
from watcher.pipeline.rematch import fingerprint

if TYPE_CHECKING:
    from watcher.pipeline.workers import Items
    from watcher.store import Store

log = logging.getLogger("watcher")
STALE = "stale:"
TIMEOUTS = "match_timeouts"
META = "rules_fingerprint"
_prints: weakref.WeakKeyDictionary[Matcher, str] = weakref.WeakKeyDictionary()


def rules_print(matcher: Matcher) -> str:
    """The fingerprint (pipeline/rematch.py) of the rules a Matcher applies, computed once per Matcher."""
    found = _prints.get(matcher)
    if found is None:
        found = _prints[matcher] = fingerprint(matcher.ruleset)
    return found


def judged(items: Items, judged_by: Matcher | None, current: Matcher) -> Items:
    """The items with the current matcher's verdicts: matched again when another matcher judged them."""
    if judged_by is None or judged_by is current or not items:
        return items
    return [(ann, guard.match(current, ann), *rest) for ann, _, *rest in items]  # type: ignore[misc]


def agree(store: Store, current: Matcher) -> bool:
    """Inside the transaction storing a poll judged by `current`: True when its rules are those in
    force (or none are recorded); else the rules in force are marked stale and False is returned."""
    in_force = store.meta_value(META)
    if in_force is None or in_force.startswith(STALE) or in_force == rules_print(current):
        return True
    store.set_meta(META, STALE + in_force)
    return False


def stale(store: Store) -> bool:
    """Were the rules in force marked stale (see `agree`)? `run` then applies its rules again."""
    value = store.meta_value(META)
    return bool(value) and value.startswith(STALE)  # type: ignore[union-attr]


def rules_of(keyword: str, rules: Any) -> list[str]:
    """Names of the rules of a RuleSet that use `keyword` (themselves or through a synonym group)."""
    groups = [set(group) for group in rules.synonyms if keyword in group]
    found = []
    for rule in rules.rules:
        words = {*rule.any, *rule.all, *rule.none}
        if keyword in words or any(group & words for group in groups):
            found.append(rule.name)
    return found


def record_timeouts(store: Store, rules: Any, now: datetime) -> int:
    """Store the regex timeouts met since the last call (guard.timeouts); -> how many."""
    found = guard.timeouts()
    if not found:
        return 0
    try:
        kept = json.loads(store.meta_value(TIMEOUTS) or "{}")
    except ValueError:
        kept = {}
    for t in found:
        entry = kept.setdefault(t.keyword, {"rules": rules_of(t.keyword, rules), "timeouts": 0, "skipped": 0})
        if t.skipped:
            entry["skipped"] = entry.get("skipped", 0) + 1
            continue
        entry["timeouts"] = entry.get("timeouts", 0) + 1
        entry["last"] = {"source": t.item[0], "id": t.item[1], "title": t.item[2]} if t.item else None
        entry["at"] = now.isoformat(timespec="seconds")
        log.warning("rule %s: %s ran out of time (%gs) on %s; counted as no match", ",".join(entry["rules"]) or "?",
                    t.keyword, guard.item_seconds(), f"{t.item[0]}/{t.item[1]}" if t.item else "an item")
    with store.transaction():
        store.set_meta(TIMEOUTS, json.dumps(kept, ensure_ascii=False))
    return len(found)


def slow_rules(store: Any) -> dict[str, Any]:
    """keyword -> what record_timeouts kept ({} when nothing ran out of time)."""
    try:
        return json.loads(store.meta_value(TIMEOUTS) or "{}")
    except (ValueError, AttributeError):
        return {}
