"""The Web API calls of the listener, through slack_sdk's WebClient with the bot token: who we are
(auth.test), rewriting a message (chat.update), answering a member only they see (the interaction's
`response_url`, else chat.postEphemeral), App Home (views.publish) and members' names (users.info).
Every call returns whether Slack took it; failures are logged in one line, never raised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from watcher.errors import DeliveryError
from watcher.team.settings import TeamSettings

log = logging.getLogger("watcher.team")
TIMEOUT = 10.0


@dataclass(frozen=True)
class Identity:
    """The app and workspace whose events are acted on, and the bot's own user."""

    app_id: str | None
    team_id: str | None
    bot_user: str | None = None

    def accepts(self, payload: dict[str, Any]) -> bool:
        """Whether an event, interaction or slash command comes from our app and workspace."""
        app = payload.get("api_app_id")
        team = (payload.get("team_id") or (payload.get("team") or {}).get("id")
                or (payload.get("user") or {}).get("team_id"))
        return bool(self.app_id and self.team_id) and app == self.app_id and team == self.team_id


class SlackApi:
    def __init__(self, settings: TeamSettings, timeout: float = TIMEOUT) -> None:
        from slack_sdk.web import WebClient

        self.settings = settings
        self.client = WebClient(token=settings.bot_token, base_url=settings.api_url, timeout=int(timeout),
                                logger=logging.getLogger("watcher.team.slack_sdk"))
        self.timeout = timeout

    def identity(self) -> Identity:
        """auth.test of the bot token (raises slack_sdk's errors: the caller tries again later)."""
        answer = self.client.auth_test()
        app_id = self.settings.app_id
        if not app_id and answer.get("bot_id"):
            app_id = self.client.bots_info(bot=answer["bot_id"]).get("bot", {}).get("app_id")
        return Identity(app_id=app_id, team_id=self.settings.team_id or answer.get("team_id"),
                        bot_user=answer.get("user_id"))

    def _call(self, what: str, method: str, **kwargs: Any) -> dict[str, Any] | None:
        from slack_sdk.errors import SlackApiError

        try:
            return getattr(self.client, method)(**kwargs).data
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            log.warning("slack %s: %s", what, data.get("error") or exc.response.status_code)
        except Exception as exc:  # network: the member clicks again
            log.warning("slack %s: %s: %s", what, type(exc).__name__, exc)
        return None

    def update(self, channel: str, ts: str, payload: dict[str, Any]) -> DeliveryError | None:
        """chat.update -> None when done, else the error, classified as delivery classifies a send
        (`retryable`: a rate limit, a 5xx, the network)."""
        from slack_sdk.errors import SlackApiError

        from watcher.deliver.senders import slack_error

        try:
            self.client.chat_update(channel=channel, ts=ts, text=payload["text"], blocks=payload.get("blocks"))
            return None
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            code = str(data.get("error") or "")
            return slack_error(exc.response.status_code, "" if code.startswith("Received a response") else code)
        except Exception as exc:
            return DeliveryError(f"network: {type(exc).__name__}: {exc}", retryable=True)

    def reply(self, payload: dict[str, Any], response_url: str | None, channel: str | None = None,
              user: str | None = None) -> bool:
        """Answer one member: through the interaction's response_url (works in any channel), else
        chat.postEphemeral."""
        if response_url and self._trusted(response_url):
            from slack_sdk.webhook import WebhookClient

            try:
                answer = WebhookClient(response_url, timeout=int(self.timeout)).send_dict(payload)
                if answer.status_code == 200:
                    return True
                log.warning("slack response_url: http %s %s", answer.status_code, str(answer.body)[:80])
            except Exception as exc:
                log.warning("slack response_url: %s: %s", type(exc).__name__, exc)
        if channel and user:
            body = {k: v for k, v in payload.items() if k in ("text", "blocks")}
            answer = self._call("chat.postEphemeral", "chat_postEphemeral", channel=channel, user=user, **body)
            return answer is not None
        return False

    def _trusted(self, url: str) -> bool:
        """A response_url of Slack's (or of the API host configured, e.g. a local test server)."""
        host = (urlsplit(url).hostname or "").lower()
        return host == "slack.com" or host.endswith(".slack.com") or host == urlsplit(self.settings.api_url).hostname

    def publish_home(self, user: str, view: dict[str, Any]) -> bool:
        return self._call("views.publish", "views_publish", user_id=user, view=view) is not None

    def user_name(self, user: str) -> str | None:
        """The name a member goes by: display name, else real name, else user name."""
        data = self._call("users.info", "users_info", user=user)
        info = (data or {}).get("user") or {}
        profile = info.get("profile") or {}
        for name in (profile.get("display_name"), profile.get("real_name"), info.get("real_name"), info.get("name")):
            if name and str(name).strip():
                return " ".join(str(name).split())[:80]
        return None
