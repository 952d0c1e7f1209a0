"""Rewrites of posted messages (`chat.update`, alerts of kind `update`) never hold up alerts.

Updates go in a lane of their own beside each channel's (`lane_of`): Slack limits chat.update
apart from chat.postMessage, and a refused or rate-limited update must not keep new alerts and
thread replies of the channel waiting. Within a round the alert lanes go first. An update is
best effort: one Slack refuses for good (the message was deleted, is too old to edit, the channel
is gone: `PERMANENT`, or any error it calls permanent) is dropped at once; one that keeps failing
for a passing reason (429, 5xx, network) is dropped after MAX_ATTEMPTS tries. A dropped update
is logged and counted (status `dropped`, its last error kept); its thread reply has gone already.
"""

from __future__ import annotations

from typing import Any

from watcher.errors import DeliveryError

SUFFIX = " (updates)"
MAX_ATTEMPTS = 3
# chat.update errors that a retry never mends (besides those senders.slack_error calls permanent)
PERMANENT = frozenset(
    """message_not_found cant_update_message edit_window_closed is_inactive channel_not_found
    not_in_channel is_archived msg_too_long""".split()
)


def lane_of(lane: str) -> str:
    """The updates lane beside a channel's lane."""
    return lane + SUFFIX


def is_lane(lane: str) -> bool:
    return lane.endswith(SUFFIX)


def is_update(alerts: list[dict[str, Any]]) -> bool:
    return bool(alerts) and all(a.get("kind") == "update" for a in alerts)


def drop_reason(err: DeliveryError, code: str, alerts: list[dict[str, Any]]) -> str | None:
    """Why a failed update is given up now, or None to retry it later."""
    if code in PERMANENT or not err.retryable:
        return f"{err} (refused for good)"
    tries = 1 + max(int(a.get("attempts") or 0) for a in alerts)
    if tries >= MAX_ATTEMPTS:
        return f"{err} ({tries} tries)"
    return None
