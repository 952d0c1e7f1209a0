"""Helpers of the team-actions tests (#26): a store with alerted calls, the listener between the local
Web API server and the local Socket Mode server, and Slack's payloads as Slack sends them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from tests.slack_server import SlackServer
from tests.socket_server import SocketModeServer
from watcher.deliver.loop import deliver
from watcher.deliver.senders import SlackSender, make_sender
from watcher.models import Announcement, Config, Hit, Rule, RuleSet, Source
from watcher.notify.messages import KST
from watcher.store import Store
from watcher.team.listener import Listener
from watcher.team.render import TeamView
from watcher.team.settings import team_settings

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=KST)
DAY = 86_400.0
NTIS = Source(id="ntis", url="https://www.ntis.go.kr/rss", name="NTIS")
DEVICES = Rule(name="devices", any=("의료기기",), channel="#devices", remind=(7 * DAY, DAY))
HEALTH = Rule(name="health", any=("헬스케어",), channel="#health", remind=(DAY,))
RULES = RuleSet(rules=(DEVICES, HEALTH))
CONFIG = Config(sources=(NTIS,), rules=RULES)
CHANNEL_IDS = {"#devices": "C0DEV", "#health": "C0HEALTH"}


def ann(n: int, title: str, deadline: str | None = "2026-12-10", published: str = "2026-11-30T09:00:00+09:00"
        ) -> Announcement:
    link = f"https://www.ntis.go.kr/view?id={n}"
    return Announcement(source="ntis", id=str(n), title=title, link=link, published=published, deadline=deadline,
                        agency="보건복지부", canonical=link, summary=f"{title} 요약")


def hits(a: Announcement) -> list[Hit]:
    out = []
    if "의료기기" in a.title:
        out.append(Hit(rule="devices", channel="#devices", keywords=("의료기기",), words=(("title", "의료기기"),)))
    if "헬스케어" in a.title:
        out.append(Hit(rule="health", channel="#health", keywords=("헬스케어",), words=(("title", "헬스케어"),)))
    return out


def ingest(store: Store, *anns: Announcement, now: datetime = NOW) -> None:
    store.ingest(NTIS, [(a, hits(a)) for a in anns], now, 14 * DAY)


def bot(slack: SlackServer) -> SlackSender:
    sender = make_sender({"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url}, timeout=2)
    assert isinstance(sender, SlackSender)
    sender.interval = 0
    return sender


def team_env(slack: SlackServer) -> dict[str, str]:
    return {"SLACK_APP_TOKEN": slack.app_token, "SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url}


def send_all(store: Store, slack: SlackServer, now: datetime = NOW, team: bool = True, rounds: int = 4) -> None:
    view = TeamView(store) if team else None
    for _ in range(rounds):
        if not deliver(store, bot(slack), now, 5, team=view).messages:
            return


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


@contextmanager
def listening(slack: SlackServer, socket_mode: SocketModeServer, db: Path, config: Config = CONFIG,
              clock: Callable[[], datetime] = lambda: NOW) -> Iterator[Listener]:
    slack.socket_url = socket_mode.url
    settings = team_settings(team_env(slack))
    assert settings is not None
    listener = Listener(settings, db, lambda: config, clock=clock, ping=0.2)
    listener.start()
    try:
        assert socket_mode.wait_connected(1), "the listener never connected"
        wait_for(lambda: listener.identity is not None)
        yield listener
    finally:
        listener.stop()


def handled_after(listener: Listener, before: int, timeout: float = 10.0) -> None:
    wait_for(lambda: listener.handled > before, timeout)


def message_of(slack: SlackServer, channel: str, title_part: str) -> dict[str, Any]:
    return next(m for m in slack.messages if m["channel"] == channel and title_part in (m["text"] or ""))


def click(message: dict[str, Any], action_id: str, value: str, user: str = "U1", channel_id: str = "C0DEV",
          channel_name: str = "devices", app: str = "A0TEAM", team: str = "T0000", response: str = "1",
          response_url: str | None = None, select: bool = False) -> dict[str, Any]:
    """A block_actions payload as Slack sends it for a click on a message's button (or menu)."""
    action: dict[str, Any] = {"action_id": action_id, "block_id": "b", "type": "button", "value": value,
                              "action_ts": "1764550800.000001"}
    if select:
        action = {"action_id": action_id, "block_id": "b", "type": "static_select",
                  "selected_option": {"value": value, "text": {"type": "plain_text", "text": "x"}}}
    return {"type": "block_actions", "api_app_id": app, "team": {"id": team, "domain": "tp"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel_id,
                          "is_ephemeral": False},
            "channel": {"id": channel_id, "name": channel_name}, "message": {"ts": message["ts"], "type": "message"},
            "response_url": response_url or f"http://127.0.0.1:1/unused/{response}", "trigger_id": "t.1",
            "actions": [action]}


def slash(text: str, user: str = "U1", response_url: str = "", channel_id: str = "C0DEV",
          channel_name: str = "devices", app: str = "A0TEAM", team: str = "T0000") -> dict[str, Any]:
    return {"token": "deprecated", "team_id": team, "team_domain": "tp", "channel_id": channel_id,
            "channel_name": channel_name, "user_id": user, "user_name": user.lower(), "command": "/공모",
            "text": text, "api_app_id": app, "is_enterprise_install": "false", "response_url": response_url,
            "trigger_id": "t.2"}


def home_opened(user: str = "U1", app: str = "A0TEAM", team: str = "T0000") -> dict[str, Any]:
    return {"token": "deprecated", "team_id": team, "api_app_id": app, "type": "event_callback",
            "event_id": "Ev1", "event_time": int(NOW.timestamp()),
            "event": {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
                      "event_ts": "1764550800.000100"}}


def valid_blocks(blocks: list[dict[str, Any]]) -> None:
    """Every block parses with slack_sdk's models, validates, and round-trips whole (nothing unknown)."""
    assert isinstance(blocks, list) and 0 < len(blocks) <= 100
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()
        assert _norm(parsed.to_dict()) == _norm(block), block


def valid_payload(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["text"] and len(payload["text"]) < 4000
    valid_blocks(payload["blocks"])
    assert len(payload["blocks"]) <= 50
    return payload


def valid_view(view: dict[str, Any]) -> dict[str, Any]:
    parsed = View(**view)
    parsed.validate_json()
    valid_blocks(view["blocks"])
    return view


def _norm(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


def store_at(tmp_path: Path) -> tuple[Store, Path]:
    db = tmp_path / "db" / "watcher.db"
    return Store(db), db


def later(days: float) -> datetime:
    return NOW + timedelta(days=days)
