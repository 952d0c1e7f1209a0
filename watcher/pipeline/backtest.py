"""Rules applied to stored announcements, sending nothing: `watcher rules test` and its diff.

Pure functions over iterables of announcements; the caller reads them from the store.
A row is one rule matching one announcement:
`{rule, source, id, title, link, published, channel, words}`: words are the item's words the rule
matched, `["강소연구개발특구 (제목)", …]` (never a keyword as written, which may be a regex).
Rows come in the order of the announcements, then of the rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from watcher.errors import WatcherError
from watcher.match.explain import word_label
from watcher.match.matcher import Matcher
from watcher.models import Announcement, Hit
from watcher.parse.links import shown_link

Row = dict[str, Any]


def _row(ann: Announcement, hit: Hit) -> Row:
    return {
        "rule": hit.rule,
        "source": ann.source,
        "id": ann.id,
        "title": ann.title,
        "link": shown_link(ann.link),
        "published": ann.published,
        "channel": hit.channel,
        "words": [word_label(f, t) for f, t in hit.words],
    }


def _hits(matcher: Matcher, ann: Announcement, rule: str | None) -> list[Hit]:
    if rule is None:
        return matcher.match(ann)
    hit = matcher.match_rule(rule, ann)
    return [] if hit is None else [hit]


def backtest(matcher: Matcher, announcements: Iterable[Announcement], rule: str | None = None) -> list[Row]:
    """One row per (announcement, matching rule); only rule `rule` when given.

    Raises WatcherError when `rule` names no rule of the matcher.
    """
    if rule is not None and rule not in matcher.rule_names:
        raise WatcherError(f"rules: no rule named {rule!r}")
    return [_row(ann, hit) for ann in announcements for hit in _hits(matcher, ann, rule)]


def _key(row: Row) -> tuple[str, str, str, str]:
    return (row["rule"], row["source"], row["id"], row["channel"])


def diff(old: Matcher, new: Matcher, announcements: Iterable[Announcement]) -> dict[str, Any]:
    """What the rules of `new` would alert that those of `old` (in force) would not, and back.

    Returns `{"added": rows, "dropped": rows, "kept": n}`: a row is added when the new rules
    match (rule, announcement, channel) and the old ones do not, dropped the other way round;
    `kept` counts the rows both produce (their words may differ). Rows of `added` carry the
    new rules' channel and words, rows of `dropped` the old ones'. Renaming a rule shows as
    all its rows dropped under the old name and added under the new.
    """
    added: list[Row] = []
    dropped: list[Row] = []
    kept = 0
    for ann in announcements:  # one pass: `announcements` may be a generator over the store
        before = {_key(r): r for r in (_row(ann, h) for h in old.match(ann))}
        after = {_key(r): r for r in (_row(ann, h) for h in new.match(ann))}
        added.extend(r for k, r in after.items() if k not in before)
        dropped.extend(r for k, r in before.items() if k not in after)
        kept += sum(1 for k in after if k in before)
    return {"added": added, "dropped": dropped, "kept": kept}
