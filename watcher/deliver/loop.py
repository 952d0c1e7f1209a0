"""Delivery: working through the outbox with a sender (watcher/deliver/senders.py).

`deliver` sends the due pending alerts of the store, one message at a time, and marks each alert
sent right after Slack accepted its message, so a crash repeats at most the message in flight.
Per lane (a channel; the single webhook in webhook mode): at most one message per `interval`,
more than `digest_over` announcements -> one digest, lanes interleaved. A failure stops that lane
for the round and is recorded on its alerts (`mark_retry`): 429 -> retry after Retry-After;
network/5xx -> backoff 30 s * 2^attempts, at most 1 h; a permanent error (bad token, unknown
channel, bot not invited) -> retry in 1 h, logged once; blocks Slack refuses -> the same message
again as plain text. While any alert of a lane waits out such a
failure the whole lane waits, so a rate-limited or broken channel gets no requests in between.
Message updates (chat.update) have a lane of their own beside each channel's, served after the
alert lanes, and are dropped after a permanent error or a few tries (watcher/deliver/updates.py).
slack_sdk's own retry handlers are disabled: every retry goes through the outbox.

Each message is claimed in the store before it is posted (watcher/store/outbox.py): of overlapping
processes only the claimant sends it. An answer that timed out (the request went out, no answer came)
may have been posted: it is sent again once, and counted as sent if that times out too.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from watcher.deliver import threads, updates
from watcher.errors import DeliveryError
from watcher.notify.flood import FLOOD_OVER, flood_message
from watcher.notify.messages import alert_rules, build_message, build_ops, digest_parts
from watcher.settings import env_seconds

if TYPE_CHECKING:  # slack_sdk is imported only when Slack is configured (start-up time)
    pass

from watcher.deliver.senders import (
    AUTH_ERRORS,
    BACKOFF_BASE,
    BACKOFF_MAX,
    PAYLOAD_ERRORS,
    PERMANENT_RETRY,
    AnswerTimeout,
    Sender,
    logger,
)


@dataclass
class DeliveryReport:
    sent: int = 0  # alerts marked sent this round
    failed: int = 0  # alerts whose message failed this round (kept pending, retried later)
    pending: int = 0  # alerts still pending in the outbox afterwards (due later or held)
    errors: list[str] = field(default_factory=list)  # "channel: slack: detail", one per failure
    messages: int = 0  # messages Slack accepted
    dropped: int = 0  # message updates given up this round (watcher/deliver/updates.py)

    def add(self, later: DeliveryReport) -> DeliveryReport:
        """This round and a later one as one report (pending: as the later one left it)."""
        return DeliveryReport(self.sent + later.sent, self.failed + later.failed, later.pending,
                              self.errors + later.errors, self.messages + later.messages)


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
    held = set()
    for channel, next_attempt_at, last_error, kind in store.retried_pending():
        when = _parse_time(next_attempt_at)
        if when is not None and when > now and error_code(last_error) not in PAYLOAD_ERRORS:
            held.add(_lane(sender, channel, kind))
    return held


def _lane(sender: Sender, channel: str, kind: str | None) -> str:
    lane = sender.lane(channel)
    return updates.lane_of(lane) if kind == "update" else lane


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
    if len(announcements) > max(FLOOD_OVER, digest_over):  # one summary message (watcher/notify/flood.py)
        covered = [a for _, same in announcements for a in same]
        payload = flood_message([m for m, _ in announcements], now, public_url)
        messages.append(_Message(covered[0]["channel"], payload, covered))
    elif len(announcements) > digest_over:
        by_id = {id(merged): same for merged, same in announcements}
        for payload, listed in digest_parts([m for m, _ in announcements], now):
            covered = [a for m in listed for a in by_id[id(m)]]
            messages.append(_Message(covered[0]["channel"], payload, covered))
    else:
        messages += [_Message(same[0]["channel"], build_message(m, now, public_url), same) for m, same in announcements]
    return messages + followed


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
    team: Any = None,
) -> DeliveryReport:
    """Send the due pending alerts of `store` (see the module docstring). With `stop`, pacing waits
    on the event and a set event ends the round after the message in hand. `team` (team actions on,
    watcher/team/render.py) adds the team's buttons and status to each message; None sends them as built."""
    start = clock()
    report = DeliveryReport()

    def current() -> datetime:
        return now + timedelta(seconds=max(0.0, clock() - start))

    for gone in store.take_over_expired(now):
        log.warning("alerts claimed by %s, which stopped mid-send, are taken over (sent again at most once)", gone)
    held = _held_lanes(store, sender, now)
    lanes: dict[str, list[dict[str, Any]]] = {}
    for alert in threads.prepare(store, store.pending_alerts(now), now):
        lane = _lane(sender, alert["channel"], alert.get("kind"))
        if lane not in held:
            lanes.setdefault(lane, []).append(alert)
    queues = {lane: deque(_messages(alerts, now, digest_over, store, public_url)) for lane, alerts in lanes.items()}
    if team is not None:
        queues = {lane: deque(team.decorate(list(messages))) for lane, messages in queues.items()}
    next_at = dict.fromkeys(queues, start)

    while queues:
        if stop is not None and stop.is_set():
            break
        lane = min(queues, key=lambda name: (updates.is_lane(name), next_at[name]))  # alerts first
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
            reason = updates.drop_reason(err, code, message.alerts) if updates.is_update(message.alerts) else None
            if reason is not None and code not in AUTH_ERRORS:
                _durably(functools.partial(store.mark_dropped, ids, current(), f"slack: {reason}"), log)
                report.dropped += len(ids)
                log.warning("%s: message update dropped: %s", message.channel, reason)
                if err.retryable:  # 429 / 5xx / network: nothing more to this lane this round
                    del queues[lane]
                elif not queues[lane]:
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
    report.pending = store.count_pending()
    return report


def _mark_sent(store: Any, message: _Message, at: datetime, ts: str | None) -> None:
    with store.transaction():  # all alerts of the message at once: a crash repeats it whole or not
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
        with store.transaction():
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
