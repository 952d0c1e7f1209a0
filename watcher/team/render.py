"""The team's state on the messages the watcher posts: `TeamView` adds the buttons and the status
line to every message of a delivery round (delivery calls it only when team actions are on, so
webhook-only and console installs send exactly what they sent before), and `render_post` rebuilds a
message already posted, for chat.update after a click.

- an alert: its payload (notify/messages.build_message) + `담당 <@U0123> · 지원 예정` + the buttons;
- a digest: its lines (each call's state after it) + one menu per call;
- a rewrite of the original message (a changed deadline, kind `update`): the same as an alert;
- a reminder: addressed to the assignee (`<@U0123>` first);
- the morning summary already carries each call's state (store/triage.with_team).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from watcher.notify.messages import build_message, digest_parts
from watcher.notify.team import decorate_digest, decorate_message, mention_assignee


def _is_digest(payload: dict[str, Any]) -> bool:
    blocks = payload.get("blocks") or []
    return bool(blocks) and blocks[0].get("type") == "header"


class TeamView:
    """Decorates the messages of one delivery round (objects with `payload` and `alerts`)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def decorate(self, messages: list[Any]) -> list[Any]:
        ids = [a["id"] for m in messages for a in m.alerts if a.get("id") is not None]
        if not ids:
            return messages
        call_of = self.store.calls_of_alerts(ids)
        team = self.store.team_of(call_of.values())
        for message in messages:
            alerts = message.alerts
            kinds = {a.get("kind") or "announcement" for a in alerts}
            first = alerts[0]
            info = team.get(call_of.get(first.get("id"), ""))
            if kinds == {"announcement"}:
                if _is_digest(message.payload):
                    message.payload = self._digest(message.payload, alerts, call_of, team)
                else:
                    message.payload = decorate_message(message.payload, first["id"], info)
            elif kinds == {"update"}:
                parent = self.store.alert_of_message(first.get("parent") or "", first["channel"])
                if parent is not None:
                    message.payload = decorate_message(message.payload, parent, info)
            elif kinds == {"remind"}:
                message.payload = mention_assignee(message.payload, info)
        return messages

    @staticmethod
    def _digest(payload: dict[str, Any], alerts: list[dict[str, Any]], call_of: dict[int, str],
                team: dict[str, dict[str, Any]]) -> dict[str, Any]:
        seen: dict[str, tuple[int, str]] = {}
        for alert in alerts:  # in the order of the digest's lines
            seen.setdefault(str(alert.get("key")), (alert["id"], str(alert.get("title") or "")))
        return decorate_digest(payload, list(seen.values()))


def team_view(env: Mapping[str, str], store: Any) -> TeamView | None:
    """The view for delivery when team actions are on (SLACK_APP_TOKEN and SLACK_BOT_TOKEN), else None:
    every sender of alerts (`once`, `run`, `alerts retry`) asks here."""
    from watcher.team.settings import team_settings

    return TeamView(store) if team_settings(env) is not None else None


def render_post(post: dict[str, Any], team: dict[str, dict[str, Any]], now: datetime,
                public_url: str | None = None) -> dict[str, Any] | None:
    """A message already posted (Store.call_messages: its alerts) as it should read now; None when it
    cannot be rebuilt as one message."""
    alerts = post["alerts"]
    if not alerts:
        return None
    if len(alerts) == 1:
        alert = alerts[0]
        return decorate_message(build_message(alert, now, public_url), alert["id"], team.get(alert["call"]))
    shown = [{**a, "team": team.get(a["call"])} for a in alerts]
    parts = digest_parts(shown, now)
    if len(parts) != 1:
        return None
    payload, listed = parts[0]
    seen: dict[str, tuple[int, str]] = {}
    for alert in listed:
        seen.setdefault(str(alert.get("key")), (alert["id"], str(alert.get("title") or "")))
    return decorate_digest(payload, list(seen.values()))
