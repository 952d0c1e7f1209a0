"""When team actions are on, and with which tokens: `SLACK_APP_TOKEN` (an app-level `xapp-` token,
Socket Mode) together with `SLACK_BOT_TOKEN`. `SLACK_APP_ID` and `SLACK_TEAM_ID` may name the app and
workspace whose events are acted on; by default the app is the one the app token belongs to and the
workspace the bot token's (auth.test).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from watcher.errors import ConfigError

DEFAULT_API_URL = "https://slack.com/api/"
PING = 5.0  # seconds between Socket Mode pings (WATCHER_SOCKET_PING); a silent socket is dropped after 4


@dataclass(frozen=True)
class TeamSettings:
    app_token: str
    bot_token: str
    api_url: str
    app_id: str | None = None  # SLACK_APP_ID, else read from the app token
    team_id: str | None = None  # SLACK_TEAM_ID, else auth.test of the bot token


def app_id_of(token: str) -> str | None:
    """The app an app-level token belongs to: `xapp-1-A0123ABCD-...` -> `A0123ABCD`."""
    parts = token.split("-")
    return parts[2] if len(parts) > 3 and re.fullmatch(r"A[A-Z0-9]{4,}", parts[2]) else None


def team_settings(env: Mapping[str, str]) -> TeamSettings | None:
    """The settings when both tokens are set, else None (alerts then carry no team buttons)."""
    app = (env.get("SLACK_APP_TOKEN") or "").strip()
    bot = (env.get("SLACK_BOT_TOKEN") or "").strip()
    if not (app and bot):
        return None
    if not app.startswith("xapp-"):
        raise ConfigError(["SLACK_APP_TOKEN: not an app-level token (xapp-...): create one under Basic Information "
                           "-> App-Level Tokens with the connections:write scope"])
    base = (env.get("SLACK_API_URL") or "").strip() or DEFAULT_API_URL
    if not re.match(r"https?://", base, re.I):
        raise ConfigError([f"SLACK_API_URL: not an http(s) URL: {base}"])
    return TeamSettings(app_token=app, bot_token=bot, api_url=base.rstrip("/") + "/",
                        app_id=(env.get("SLACK_APP_ID") or "").strip() or app_id_of(app),
                        team_id=(env.get("SLACK_TEAM_ID") or "").strip() or None)
