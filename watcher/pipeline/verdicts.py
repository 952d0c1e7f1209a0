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
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from watcher.match.matcher import Matcher
from watcher.pipeline.rematch import fingerprint

if TYPE_CHECKING:
    from watcher.pipeline.workers import Items
    from watcher.store import Store

STALE = "stale:"
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
    return [(ann, current.match(ann), *rest) for ann, _, *rest in items]  # type: ignore[misc]


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
