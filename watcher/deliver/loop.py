"""Delivery: senders (Slack bot, incoming webhook, console) and working through the outbox.

`deliver` sends the due pending alerts of the store, one message at a time, and marks each alert
sent right after Slack accepted its message, so a crash repeats at most the message in flight.
Per lane (a channel; the single webhook in webhook mode): at most one message per `interval`,
more than `digest_over` announcements -> one digest, lanes interleaved. A failure stops that lane
for the round and is recorded on its alerts (`mark_retry`): 429 -> retry after Retry-After;
network/5xx -> backoff 30 s * 2^attempts, at most 1 h; a permanent error (bad token, unknown
channel, bot not invited) -> retry in 1 h, logged once; blocks Slack refuses -> the same message
again as plain text. While any alert of a lane waits out such a
failure the whole lane waits, so a rate-limited or broken channel gets no requests in between.
slack_sdk's own retry handlers are disabled: every retry goes through the outbox.

Each message is claimed in the store before it is posted (watcher/store_claims.py): of overlapping
processes only the claimant sends it. An answer that timed out (the request went out, no answer came)
may have been posted: it is sent again once, and counted as sent if that times out too.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.client import HTTPException
from typing import TYPE_CHECKING, Any, Protocol, TextIO
from urllib.error import URLError

from watcher.deliver import threads
from watcher.errors import ConfigError, DeliveryError
from watcher.notify.messages import alert_rules, build_message, build_ops, digest_parts
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


@dataclass
class DeliveryReport:
    sent: int = 0  # alerts marked sent this round
    failed: int = 0  # alerts whose message failed this round (kept pending, retried later)
    pending: int = 0  # alerts still pending in the outbox afterwards (due later or held)
    errors: list[str] = field(default_factory=list)  # "channel: slack: detail", one per failure
    messages: int = 0  # messages Slack accepted


@dataclass
class _Message:
    channel: str
    payload: dict[str, Any]
    alerts: list[dict[str, Any]]


def error_code(error: str | None) -> str:
    """`slack: channel_not_found` -> `channel_not_found` (first word of a recorded last_error)."""
    text = (error or "").removeprefix("slack: ")
    return re.split(r"[\s:(]", text, maxsplit=1)[0]


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def _held_lanes(store: Any, sender: Sender, now: datetime) -> set[str]:
    """Lanes with an alert still waiting out a lane-wide failure (429, 5xx, network, permanent)."""
    db = getattr(store, "db", None)
    if db is None:
        return set()
    rows = db.execute(
        "select channel, next_attempt_at, last_error from alerts "
        "where status = 'pending' and attempts > 0 and next_attempt_at is not null"
    ).fetchall()
    held = set()
    for channel, next_attempt_at, last_error in rows:
        when = _parse_time(next_attempt_at)
        if when is not None and when > now and error_code(last_error) not in PAYLOAD_ERRORS:
            held.add(sender.lane(channel))
    return held


def _messages(alerts: list[dict[str, Any]], now: datetime, digest_over: int, store: Any = None,
              public_url: str | None = None) -> list[_Message]:
    """One lane's due alerts -> messages. Alerts of one announcement (same key, e.g. several
    channels behind one webhook) share a message, with their rules merged. Follow-ups and
    summaries: watcher/threads.py."""
    own = [a for a in alerts if a.get("kind") in threads.OWN_KINDS]
    alerts = [a for a in alerts if a.get("kind") not in threads.OWN_KINDS]
    followed = [_Message(channel, payload, covered)
                for channel, payload, covered in threads.messages(own, now, store, public_url)]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for alert in sorted(alerts, key=lambda a: a.get("id") or 0):
        groups.setdefault((alert.get("kind") or "announcement", str(alert.get("key") or alert.get("id"))), []).append(
            alert
        )
    messages, announcements = [], []
    for (kind, _), same in groups.items():
        if kind == "ops":
            messages.append(_Message(same[0]["channel"], build_ops(same[0]), same))
            continue
        merged = dict(same[0])
        if len(same) > 1:
            merged["rules"] = [r for a in same for r in alert_rules(a)]
        announcements.append((merged, same))
    if len(announcements) > digest_over:
        by_id = {id(merged): same for merged, same in announcements}
        for payload, listed in digest_parts([m for m, _ in announcements], now):
            covered = [a for m in listed for a in by_id[id(m)]]
            messages.append(_Message(covered[0]["channel"], payload, covered))
    else:
        messages += [_Message(same[0]["channel"], build_message(m, now, public_url), same) for m, same in announcements]
    return messages + followed


def _transaction(store: Any) -> contextlib.AbstractContextManager[Any]:
    db = getattr(store, "db", None)
    return db.atomic() if db is not None and hasattr(db, "atomic") else contextlib.nullcontext()


def _count_pending(store: Any) -> int:
    db = getattr(store, "db", None)
    if db is None:
        return 0
    return int(db.execute("select count(*) from alerts where status = 'pending'").fetchone()[0])


def deliver(
    store: Any,
    sender: Sender,
    now: datetime,
    digest_over: int,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    stop: threading.Event | None = None,
    log: logging.Logger = logger,
    public_url: str | None = None,
) -> DeliveryReport:
    """Send the due pending alerts of `store` (see the module docstring). With `stop`, pacing waits
    on the event and a set event ends the round after the message in hand."""
    start = clock()
    report = DeliveryReport()

    def current() -> datetime:
        return now + timedelta(seconds=max(0.0, clock() - start))

    for gone in store.take_over_expired(now):
        log.warning("alerts claimed by %s, which stopped mid-send, are taken over (sent again at most once)", gone)
    held = _held_lanes(store, sender, now)
    lanes: dict[str, list[dict[str, Any]]] = {}
    for alert in threads.prepare(store, store.pending_alerts(now)):
        lane = sender.lane(alert["channel"])
        if lane not in held:
            lanes.setdefault(lane, []).append(alert)
    queues = {lane: deque(_messages(alerts, now, digest_over, store, public_url)) for lane, alerts in lanes.items()}
    next_at = dict.fromkeys(queues, start)

    while queues:
        if stop is not None and stop.is_set():
            break
        lane = min(queues, key=lambda name: next_at[name])
        wait = next_at[lane] - clock()
        if wait > 0:
            if stop is not None:
                if stop.wait(wait):
                    break
            else:
                sleep(wait)
        message = queues[lane].popleft()
        ids = [alert["id"] for alert in message.alerts]
        if not store.claim(ids, current()):  # another process sends (or sent) it
            if not queues[lane]:
                del queues[lane]
            continue
        try:
            ts = sender.send(message.channel, message.payload)
        except Exception as exc:  # every failure keeps the alerts pending
            err = exc if isinstance(exc, DeliveryError) else DeliveryError(f"{type(exc).__name__}: {exc}")
            code = error_code(err.detail)
            if code in PAYLOAD_ERRORS and message.payload.get("blocks"):  # Slack refused our blocks:
                log.warning("%s: %s: sending it again as plain text", message.channel, err)
                store.release(ids)
                queues[lane].appendleft(_Message(message.channel, {"text": message.payload["text"]}, message.alerts))
                next_at[lane] = clock() + sender.interval
                continue
            if isinstance(err, AnswerTimeout):
                _in_doubt(store, message, err, current(), report, log)
                del queues[lane]
                continue
            _failed(store, message, err, current(), report, log)
            if code in AUTH_ERRORS:
                queues.clear()
                break
            if err.retryable or code not in PAYLOAD_ERRORS:
                del queues[lane]  # this lane is done for the round
                continue
        else:
            _durably(functools.partial(_mark_sent, store, message, current(), ts), log)
            report.sent += len(message.alerts)
            report.messages += 1
        next_at[lane] = clock() + sender.interval
        if not queues[lane]:
            del queues[lane]

    if getattr(sender, "channel_ids", None) and hasattr(store, "remember_channels"):
        store.remember_channels(sender.channel_ids)
    report.pending = _count_pending(store)
    return report


def _mark_sent(store: Any, message: _Message, at: datetime, ts: str | None) -> None:
    with _transaction(store):  # all alerts of the message at once: a crash repeats it whole or not
        for alert in message.alerts:
            store.mark_sent(alert["id"], at, ts)


def _durably(write: Callable[[], None], log: logging.Logger, patience: float | None = None) -> None:
    """Record what Slack accepted even while another process holds the database for long (each try
    waits the busy timeout); give up only near the claim's lease, which would let it be sent again."""
    import sqlite3

    from watcher.store.outbox import lease_seconds

    deadline = time.monotonic() + (patience if patience is not None else lease_seconds() * 0.8)
    while True:
        try:
            write()
            return
        except sqlite3.OperationalError as exc:
            if time.monotonic() >= deadline:
                raise
            log.warning("database busy while recording a sent message (%s); trying again", exc)
            time.sleep(0.2)


def _retry_at(message: _Message, err: DeliveryError, at: datetime) -> datetime:
    if not err.retryable:
        delay = PERMANENT_RETRY
    elif err.retry_after is not None:
        delay = err.retry_after
    else:
        attempts = max(int(a.get("attempts") or 0) for a in message.alerts)
        base = env_seconds("WATCHER_RETRY_BASE", BACKOFF_BASE)
        delay = min(base * 2 ** min(attempts, 20), BACKOFF_MAX)
    retry_at = at + timedelta(seconds=delay)
    if retry_at.microsecond:  # the store keeps whole seconds: round up, never retry early
        retry_at = retry_at.replace(microsecond=0) + timedelta(seconds=1)
    return retry_at


def _in_doubt(
    store: Any, message: _Message, err: DeliveryError, at: datetime, report: DeliveryReport, log: logging.Logger
) -> None:
    """No answer in time: sent again once later; the second time it counts as sent."""
    retry_at = _retry_at(message, err, at)
    counted = 0

    def write() -> None:
        nonlocal counted
        counted = store.mark_in_doubt([a["id"] for a in message.alerts], at, str(err), retry_at)

    _durably(write, log)
    report.errors.append(f"{message.channel}: {err}")
    if counted:
        report.sent += counted
        log.warning("%s: %s again: %d alert(s) counted as sent, not repeated", message.channel, err, counted)
    else:
        report.failed += len(message.alerts)
        log.warning("%s: %s: %d alert(s) sent again once at %s", message.channel, err, len(message.alerts),
                    retry_at.isoformat(timespec="seconds"))


def _failed(
    store: Any, message: _Message, err: DeliveryError, at: datetime, report: DeliveryReport, log: logging.Logger
) -> None:
    retry_at = _retry_at(message, err, at)

    def write() -> None:
        with _transaction(store):
            for alert in message.alerts:
                store.mark_retry(alert["id"], at, str(err), retry_at)

    _durably(write, log)
    report.failed += len(message.alerts)
    report.errors.append(f"{message.channel}: {err}")
    repeated = all(a.get("last_error") == str(err) for a in message.alerts)
    level = logging.INFO if repeated else logging.ERROR if not err.retryable else logging.WARNING
    hint = " (kept pending, retried hourly until fixed)" if not err.retryable else ""
    log.log(
        level,
        "%s: %s: %d alert(s) retry at %s%s",
        message.channel,
        err,
        len(message.alerts),
        retry_at.isoformat(timespec="seconds"),
        hint,
    )
