"""Delivery of the rows that follow an alert (see watcher/store_calls.py): thread notes of other
portals, changes, reminders, the rewrite of the original message, and morning summaries.

A follow-up waits (stays pending, not attempted) until the announcement alert it answers is sent;
then it is a reply in that message's thread (`thread_ts` = its stored ts), or a new message when
the alert went by webhook or console (no ts). An `update` (chat.update) needs that ts and a message
of its own: one of a digest, or without a ts, is skipped (its thread reply still goes). A follow-up
whose alert does not exist is skipped. Alerts of a call are shown with the call's current deadline.
A reminder is checked again when it is about to go (it may have waited out a Slack outage): once the
deadline has passed, or once a closer offset is due, it is skipped (the closer one goes instead).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from watcher.deadlines import change_line, offset_text, reminder_stale
from watcher.notify.messages import build_change, build_copies, build_message, build_reminder, build_summary

FOLLOW_UPS = frozenset({"copy", "change", "update", "remind"})
OWN_KINDS = FOLLOW_UPS | {"summary"}


def _data(alert: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(alert.get("text") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def prepare(store: Any, alerts: list[dict[str, Any]], now: datetime | None = None) -> list[dict[str, Any]]:
    """The due alerts that can go now; follow-ups carry `thread_ts` / `channel_id` of their parent.
    With `now`, reminders gone stale since they were queued are skipped."""
    if not hasattr(store, "thread_parents"):
        return [a for a in alerts if a.get("kind") not in OWN_KINDS]
    follow = [a for a in alerts if a.get("kind") in FOLLOW_UPS]
    parents = store.thread_parents((a.get("parent") or "", a["channel"]) for a in follow)
    deadlines = store.call_deadlines(a.get("parent") or a.get("key") or "" for a in alerts
                                     if a.get("kind") in ("announcement", "change", "update", "remind", None))
    ready, skipped = [], []
    for alert in alerts:
        kind = alert.get("kind") or "announcement"
        call = alert.get("parent") if kind in FOLLOW_UPS else alert.get("key")
        if deadlines.get(call or ""):
            alert = {**alert, "deadline": deadlines[call or ""]}
        if kind not in FOLLOW_UPS:
            ready.append(alert)
            continue
        parent = parents.get((alert.get("parent") or "", alert["channel"]))
        if parent is None or (kind == "update" and parent["status"] == "sent"
                              and (not parent["ts"] or parent["shared"])):
            skipped.append(alert["id"])
            continue
        if parent["status"] != "sent":
            continue  # waits for its message
        if kind == "remind" and now is not None and _stale(alert, now):
            skipped.append(alert["id"])
            continue
        ready.append({**alert, "thread_ts": parent["ts"], "channel_id": parent["channel_id"]})
    if skipped:
        store.mark_skipped(skipped)
    return ready


def _stale(alert: dict[str, Any], now: datetime) -> bool:
    """A reminder whose deadline (the call's current one) has passed, or a closer offset of which is due."""
    data = _data(alert)
    try:
        offset = float(data.get("offset") or 0)
        offsets = [float(o) for o in data.get("offsets") or []]
    except (TypeError, ValueError):
        return False
    return reminder_stale(alert.get("deadline") or data.get("deadline"), offset, offsets, now)


def messages(alerts: list[dict[str, Any]], now: datetime, store: Any, public_url: str | None = None
             ) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """Follow-ups and summaries -> (channel, payload, the alerts it covers); copies of one message
    share one note."""
    out: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []
    copies: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for alert in sorted(alerts, key=lambda a: a.get("id") or 0):
        kind, data = alert.get("kind"), _data(alert)
        if kind == "copy":
            copies.setdefault((alert.get("parent") or "", alert["channel"]), []).append(alert)
            continue
        if kind == "remind":
            shown = {**alert, "deadline": data.get("deadline") or alert.get("deadline")}
            payload = build_reminder(shown, offset_text(float(data.get("offset") or 0)), now)
        elif kind == "change":
            lines = [change_line(*change) for change in data.get("changes") or [] if len(change) == 3]
            payload = build_change(alert, lines, data.get("via"), now)
        elif kind == "update":
            payload = build_message({**alert, "deadline": data.get("deadline") or alert.get("deadline")}, now,
                                    public_url)
            payload["update"] = {"ts": alert["thread_ts"], "channel": alert.get("channel_id") or alert["channel"]}
        elif kind == "summary":
            payload = build_summary(data.get("lines") or [], str(data.get("day") or ""), now)
        else:
            continue
        if alert.get("thread_ts") and kind != "update":
            payload["thread_ts"] = alert["thread_ts"]
        out.append((alert["channel"], payload, [alert]))
    for (_, channel), group in copies.items():
        payload = build_copies(group)
        if group[0].get("thread_ts"):
            payload["thread_ts"] = group[0]["thread_ts"]
        out.append((channel, payload, group))
    return out
