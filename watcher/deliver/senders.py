"""The senders of delivery: Slack's Web API as a bot (slack_sdk), an incoming webhook, the console.

`make_sender` picks one from the environment. A send either returns Slack's message timestamp or
raises a DeliveryError that says whether it is worth retrying (429 with Retry-After, network or 5xx)
or permanent (bad token, unknown channel, bot not invited, blocks refused). slack_sdk's own retry
handlers are disabled: every retry goes through the outbox (watcher/deliver/loop.py).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from http.client import HTTPException
from typing import TYPE_CHECKING, Any, Protocol, TextIO
from urllib.error import URLError

from watcher.errors import ConfigError, DeliveryError
from watcher.settings import env_seconds
from watcher.termsafe import term

if TYPE_CHECKING:  # slack_sdk is imported only when Slack is configured (start-up time)
    from slack_sdk.web import WebClient
    from slack_sdk.webhook import WebhookClient

logger = logging.getLogger("watcher.deliver")
# slack_sdk logs every failed request as an ERROR; `deliver` logs each failure once, with its fate.
_sdk_logger = logging.getLogger("watcher.deliver.slack_sdk")
_sdk_logger.setLevel(logging.CRITICAL)
_sdk_logger.propagate = False

DEFAULT_API_URL = "https://slack.com/api/"
TIMEOUT = 10.0  # seconds, one request (WATCHER_SLACK_TIMEOUT)
INTERVAL = 1.0  # seconds between two messages to one channel (Slack: about 1 per second)
BACKOFF_BASE, BACKOFF_MAX = 30.0, 3600.0  # network errors, 5xx (base: WATCHER_RETRY_BASE)
PERMANENT_RETRY = 3600.0  # permanent errors stay pending and are tried again hourly

# Errors of the token or workspace: nothing can be sent to any channel.
AUTH_ERRORS = frozenset(
    """invalid_auth not_authed account_inactive token_revoked token_expired no_permission missing_scope
    team_access_not_granted ekm_access_denied invalid_token team_disabled no_active_hooks no_service""".split()
)
# Errors of one channel: the other channels still go.
CHANNEL_ERRORS = frozenset(
    """channel_not_found not_in_channel is_archived channel_is_archived restricted_action
    restricted_action_read_only_channel restricted_action_thread_only_channel action_prohibited
    restricted_action_non_threadable_channel posting_to_general_channel_denied""".split()
)
# Errors of one message: the other messages of the channel still go.
PAYLOAD_ERRORS = frozenset(
    """msg_too_long invalid_blocks invalid_blocks_format no_text invalid_arguments invalid_payload
    too_many_attachments invalid_attachments markdown_text_conflict""".split()
)
PERMANENT_ERRORS = AUTH_ERRORS | CHANNEL_ERRORS | PAYLOAD_ERRORS


class Sender(Protocol):
    interval: float  # seconds between two messages to one lane

    def lane(self, channel: str) -> str:
        """Where a message for `channel` really goes; pacing and holds apply per lane."""
        ...

    def send(self, channel: str, payload: dict[str, Any]) -> str | None:
        """Post one message; the Slack ts when known. Raises DeliveryError."""
        ...


def _retry_after(headers: Mapping[str, Any] | None) -> float | None:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, list) and value else value
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return None
    return None


def slack_error(status: int, code: str, retry_after: float | None = None) -> DeliveryError:
    """The DeliveryError for an answer of Slack (`code`: its `error` field or webhook body)."""
    code = (code or "").strip()
    if status == 429 or code in ("ratelimited", "rate_limited"):
        wait = f" (retry after {retry_after:g}s)" if retry_after is not None else ""
        return DeliveryError(f"ratelimited{wait}", retryable=True, retry_after=retry_after)
    if code in PERMANENT_ERRORS:
        return DeliveryError(code, retryable=False)
    if 400 <= status < 500 and status != 408:
        return DeliveryError(f"{code or 'http_' + str(status)} (http {status})", retryable=False)
    code = code if re.fullmatch(r"[a-z_]{1,80}", code) else ""  # not slack_sdk's "Received a response..."
    if status == 200 and code:  # an `ok: false` we do not know (internal_error, fatal_error, ...)
        return DeliveryError(code, retryable=True)
    return DeliveryError(f"http {status}" + (f": {code}" if code else ""), retryable=True)


class AnswerTimeout(DeliveryError):
    """The request reached Slack but no answer came in time: the message may have been posted."""


_NON_JSON = "Received a response in a non-JSON format:"
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


def not_slack(status: int, headers: Mapping[str, Any] | None, body: str) -> DeliveryError:
    """An answer that is not Slack's (an HTML page of a proxy, a maintenance page): retried later,
    and said as such, with the page's title or first words."""
    ctype = next((str(v) for k, v in (headers or {}).items() if k.lower() == "content-type"), "")
    ctype = ctype.split(";")[0].strip() or "no content type"
    title = _TITLE.search(body)
    gist = " ".join(re.sub(r"<[^>]*>", " ", title.group(1) if title else body).split())[:80]
    return DeliveryError(f"not a Slack answer (http {status}, {ctype}): {term(gist) or 'empty body'}",
                         retryable=True)


def _network_error(exc: Exception) -> DeliveryError:
    if isinstance(exc, TimeoutError):  # urllib wraps failures before the request in URLError; not this
        return AnswerTimeout("network: no answer in time (the message may have arrived)", retryable=True)
    reason = exc.reason if isinstance(exc, URLError) else exc
    return DeliveryError(f"network: {reason or type(exc).__name__}", retryable=True)


class SlackSender:
    """chat.postMessage with a bot token; the channel is the rule's."""

    interval = INTERVAL

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self.channel_ids: dict[str, str] = {}  # channel as named -> id Slack answered (for chat.update)

    def lane(self, channel: str) -> str:
        return channel

    def send(self, channel: str, payload: dict[str, Any]) -> str | None:
        from slack_sdk.errors import SlackApiError

        try:
            if payload.get("update"):  # rewrite a message posted before (watcher/threads.py)
                response = self.client.chat_update(channel=payload["update"]["channel"], ts=payload["update"]["ts"],
                                                   text=payload["text"], blocks=payload.get("blocks"))
                return response.get("ts")
            response = self.client.chat_postMessage(
                channel=channel,
                text=payload["text"],
                blocks=payload.get("blocks"),
                thread_ts=payload.get("thread_ts"),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            answer = exc.response
            data = answer.data if isinstance(answer.data, dict) else {}
            if str(data.get("error") or "").startswith(_NON_JSON):
                raise not_slack(answer.status_code, answer.headers,
                                str(data["error"]).removeprefix(_NON_JSON)) from exc
            raise slack_error(answer.status_code, str(data.get("error") or ""), _retry_after(answer.headers)) from exc
        except (OSError, HTTPException) as exc:
            raise _network_error(exc) from exc
        if response.get("channel"):
            self.channel_ids[channel] = str(response["channel"])
        return response.get("ts")


class WebhookSender:
    """One incoming webhook: every message lands in the channel the webhook was made for, whatever
    channel the rule names (Slack ignores a channel override), so all rules share one lane."""

    interval = INTERVAL

    def __init__(self, client: WebhookClient) -> None:
        self.client = client

    def lane(self, channel: str) -> str:
        return "webhook"

    def send(self, channel: str, payload: dict[str, Any]) -> str | None:
        body = {"text": payload["text"], "blocks": payload.get("blocks"), "unfurl_links": False, "unfurl_media": False}
        try:
            response = self.client.send_dict(body)
        except (OSError, HTTPException) as exc:
            raise _network_error(exc) from exc
        body = str(response.body or "")
        if response.status_code == 200 and not body.lstrip().startswith("<"):
            return None  # Slack answers `ok`; an HTML page in a 200 is someone else's
        if response.status_code == 200:
            raise not_slack(200, response.headers, body)
        raise slack_error(response.status_code, str(response.body or "")[:200], _retry_after(response.headers))


_LINK = re.compile(r"<([^<>|]+)\|([^<>]*)>")
_BARE = re.compile(r"<((?:https?|mailto):[^<>|]+)>")
_BOLD = re.compile(r"\*([^*\n]+)\*")


def plain(mrkdwn: str) -> str:
    """Slack mrkdwn -> readable plain text: `<url|title>` -> `title <url>`, entities decoded."""
    text = _LINK.sub(lambda m: f"{m.group(2)} <{m.group(1)}>", mrkdwn)
    text = _BOLD.sub(r"\1", _BARE.sub(r"<\1>", text))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def render(payload: dict[str, Any]) -> str:
    """A payload as plain text, block by block (the `text` fallback when it has no blocks)."""
    lines: list[str] = []
    for block in payload.get("blocks") or []:
        if block.get("text"):
            lines.append(plain(block["text"]["text"]))
        for item in block.get("fields") or []:
            lines.append("  " + plain(item["text"]).replace("\n", ": ", 1))
        for item in block.get("elements") or []:
            if isinstance(item, dict) and item.get("url"):  # a button
                lines.append(f"  [{item['text']['text']}] <{item['url']}>")
            elif isinstance(item, dict) and isinstance(item.get("text"), str):
                lines.append("  " + plain(item["text"]))
    return "\n".join(lines) if lines else plain(payload.get("text", ""))


class ConsoleSender:
    """No Slack configured: print each message to standard output; printing counts as sent."""

    interval = 0.0

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out

    def lane(self, channel: str) -> str:
        return channel

    def send(self, channel: str, payload: dict[str, Any]) -> str | None:
        out = self.out or sys.stdout
        print(f"── {channel} ──\n{term(render(payload))}\n", file=out, flush=True)
        return None


def make_sender(env: Mapping[str, str], timeout: float | None = None) -> Sender:
    """SLACK_BOT_TOKEN (+ SLACK_API_URL) -> Web API; else SLACK_WEBHOOK_URL -> webhook; else console."""
    timeout = env_seconds("WATCHER_SLACK_TIMEOUT", TIMEOUT) if timeout is None else timeout
    token = (env.get("SLACK_BOT_TOKEN") or "").strip()
    webhook = (env.get("SLACK_WEBHOOK_URL") or "").strip()
    if token:
        base = (env.get("SLACK_API_URL") or "").strip() or DEFAULT_API_URL
        if not re.match(r"https?://", base, re.I):
            raise ConfigError([f"SLACK_API_URL: not an http(s) URL: {base}"])
        from slack_sdk.web import WebClient

        client = WebClient(
            token=token,
            base_url=base.rstrip("/") + "/",
            timeout=timeout,  # type: ignore[arg-type]
            logger=_sdk_logger,
            retry_handlers=[],
        )
        return SlackSender(client)
    if webhook:
        if not re.match(r"https?://", webhook, re.I):
            raise ConfigError(["SLACK_WEBHOOK_URL: not an http(s) URL"])
        from slack_sdk.webhook import WebhookClient

        client = WebhookClient(webhook, timeout=timeout, retry_handlers=[], logger=_sdk_logger)  # type: ignore[arg-type]
        return WebhookSender(client)
    return ConsoleSender()

