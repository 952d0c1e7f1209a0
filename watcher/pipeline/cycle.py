"""One poll cycle (`run_once`, `poll_all`); the scheduled loop of `watcher run` is watcher/runner.py.

A poll is fetch -> parse -> match in a worker thread (network and parsing never block the
others; at most PER_HOST requests to one host at a time), then store in the main thread, one
transaction per source. A failing source is recorded on its row and the cycle moves on. New calls
of a source with `detail:` are then read in the same threads (watcher/pipeline/details.py) and
stored as they finish (`read_calls`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from watcher.clock import now_kst
from watcher.deliver.loop import DeliveryReport, deliver
from watcher.deliver.senders import Sender
from watcher.errors import SourceError
from watcher.fetch.poll import FetchResult, FetchState, fetch, make_session
from watcher.fetch.session import Session
from watcher.health import needs_full_read, poll_health
from watcher.match import guard
from watcher.match.matcher import Matcher
from watcher.models import Config, Source
from watcher.notify import opstext
from watcher.pipeline import verdicts
from watcher.pipeline.details import Reader
from watcher.pipeline.rematch import RematchReport, apply_rules
from watcher.pipeline.workers import Items, ParsePool, safe_parse_and_match
from watcher.settings import service_log  # INFO shown without -v
from watcher.store import Store

log = logging.getLogger("watcher")

PER_HOST = 4
WORKERS = 32
# Polls finished within this many seconds share one commit (fewer, larger search-index flushes); the
# write lock is held only while they are stored, never while waiting for the network.
COMMIT_EVERY = 0.5
POOL_MIN_SOURCES = 10  # bodies expected; below this, parsing in the fetch threads costs less than forking workers


@dataclass
class Polled:
    """What a worker hands back to the main thread for one source."""

    source: Source
    fetched: FetchResult | None = None
    items: Items = field(default_factory=list)
    error: SourceError | None = None
    matcher: Matcher | None = None  # the rules its items were matched with


@dataclass
class SourceReport:
    id: str
    status: str  # ok | not_modified | unchanged | error | skipped
    items: int = 0
    new: int = 0
    alerts: int = 0
    error: str | None = None


class HostLimiter:
    """At most `limit` requests in flight to one host."""

    def __init__(self, limit: int = PER_HOST) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._sems: dict[str, threading.Semaphore] = {}

    def __call__(self, url: str) -> threading.Semaphore:
        host = urlsplit(url).netloc.lower()
        with self._lock:
            return self._sems.setdefault(host, threading.Semaphore(self.limit))


def poll(source: Source, session: Session, state: FetchState, matcher: Matcher,
         limiter: HostLimiter, parse_here: bool = True) -> Polled:
    """Fetch one source and, unless a process pool will, parse and match it. Never raises for
    source problems: they end up in `Polled.error`."""
    result = Polled(source, matcher=matcher)
    try:
        with limiter(source.url):
            result.fetched = fetch(session, source, state)
    except SourceError as exc:
        result.error = exc
        return result
    if parse_here and result.fetched.status == "ok":
        finish(result, safe_parse_and_match(source, *parse_args(result.fetched), matcher))
    return result


def parse_args(fetched: FetchResult) -> tuple[list[bytes], str | None, str]:
    return [fetched.body, *fetched.more_bodies], fetched.content_type, fetched.url


def finish(polled: Polled, outcome: Items | SourceError) -> Polled:
    """Attach parse results to a poll, and let go of the bodies."""
    if isinstance(outcome, SourceError):
        polled.error = outcome
    else:
        polled.items = outcome
    if polled.fetched is not None:
        polled.fetched.body, polled.fetched.more_bodies = b"", []
    return polled


def _reading(source: Source) -> tuple:
    """What decides how a source's answer is read into announcements."""
    return (source.url, source.kind, source.items, sorted(source.fields.items()), sorted(source.headers.items()),
            source.encoding, repr(source.paging))


class Cycle:
    """Shared machinery for `once` and `run`: session, pool, matcher and the store."""

    def __init__(self, config: Config, store: Store, clock: Callable[[], datetime] = now_kst) -> None:
        self.store = store
        self.clock = clock
        self.session = make_session(hosts=len({urlsplit(s.url).netloc.lower() for s in config.sources}) or 1)
        self.limiter = HostLimiter()
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="poll")
        self.states: dict[str, dict] = {}  # rows cached for one `poll_all`
        self.refetch: set[str] = set()  # sources to re-read whole at their next poll
        self.config = config
        self.matcher = Matcher(config.rules)
        self.reader = Reader(self.pool, self.session, self.limiter, store, clock)

    def set_config(self, config: Config) -> None:
        """Use a new config. Edited rules reach stored items through `apply_rules` (no fetch);
        only a source whose own reading changed (url, kind, items, fields, ...) is re-read whole
        at its next poll, since what it listed before was read the old way."""
        old = {s.id: s for s in self.config.sources}
        self.refetch |= {s.id for s in config.sources if s.id in old and _reading(old[s.id]) != _reading(s)}
        self.config = config
        self.matcher = Matcher(config.rules)

    def apply_rules(self) -> RematchReport | None:
        """Edited rules applied to the stored announcements (see watcher/rematch.py)."""
        report = apply_rules(self.store, self.config, self.clock(), self.matcher)
        if report is not None and report.checked:
            service_log.info("rules changed: %d stored announcements matched again (%d changed), %d alerts "
                        "queued in %.1fs", report.checked, report.changed, report.alerts_queued, report.seconds)
        return report

    def load_states(self) -> None:
        """Read every source's row once (a cycle polls them all); rows change only in `record`."""
        self.states = self.store.source_states()

    def state(self, source_id: str) -> dict:
        if source_id in self.states:
            return self.states[source_id]
        return self.store.source_state(source_id) or {}

    def fetch_state(self, source_id: str) -> FetchState:
        if source_id in self.refetch:
            self.refetch.discard(source_id)
            return FetchState()
        row = self.state(source_id)
        source = self.config.source(source_id)
        if source is not None and needs_full_read(source, row):  # e.g. selectors edited since
            return FetchState()
        return FetchState(row.get("etag"), row.get("last_modified"), row.get("body_hash"))

    def expects_body(self, source: Source) -> bool:
        """Whether the source will likely send a body to parse: never read whole yet, or to be re-read
        (a source with stored validators most likely answers 304, or a body hashing as before)."""
        row = self.state(source.id)
        return (source.id in self.refetch or not (row.get("etag") or row.get("last_modified") or row.get("body_hash"))
                or needs_full_read(source, row))

    def submit(self, source: Source, parse_here: bool = True) -> Future[Polled]:
        state = self.fetch_state(source.id)
        return self.pool.submit(poll, source, self.session, state, self.matcher, self.limiter, parse_here)

    def blocked_until(self, source: Source, now: datetime) -> datetime | None:
        """A time before which the source asked not to be polled (Retry-After), if any."""
        until = self.state(source.id).get("next_poll_after")
        if until and datetime.fromisoformat(until) > now:
            return datetime.fromisoformat(until)
        return None

    def record(self, polled: Polled) -> SourceReport:
        """Main thread: store what a worker found, and the source's health, in one transaction."""
        with self.store.transaction():
            return self._record(polled)

    def _record(self, polled: Polled) -> SourceReport:
        source, now = polled.source, self.clock()
        was_failing = bool(self.state(source.id).get("down_alerted"))
        self.states.pop(source.id, None)  # about to change
        if polled.error is not None:
            self.store.record_failure(source, now, str(polled.error), polled.error.retry_after)
            self._health_alert(source, now, down=True)
            return SourceReport(source.id, "error", error=str(polled.error))
        fetched = polled.fetched
        assert fetched is not None
        quality = None
        if fetched.status == "ok":
            items = verdicts.judged(polled.items, polled.matcher, self.matcher)  # a reload came meanwhile
            items = self.reader.prepare(source, items)  # deadlines read before stay
            if not verdicts.agree(self.store, self.matcher):
                log.warning("%s: stored with rules other than those in force (another process changed them): "
                            "every stored announcement will be matched again", source.id)
            result = self.store.ingest(source, items, now, self.config.rules.max_age)
            self.reader.start(source, items, now, self.config.rules.max_age)  # its new calls are read
            report = SourceReport(source.id, "ok", result.seen, result.new, result.alerts_queued)
            quality = poll_health(source, [item[0] for item in polled.items], now, self.config.rules.max_age)
        else:
            report = SourceReport(source.id, fetched.status)
        self.store.record_success(source, now, fetched.etag, fetched.last_modified, fetched.body_hash)
        self.store.record_health(source, now, quality, report.new)
        for text in self.store.health_alerts(source, now, self.config.rules.ops_channel):
            log.warning(text)
        if was_failing:
            self._health_alert(source, now, down=False)
        return report

    def _health_alert(self, source: Source, now: datetime, down: bool) -> None:
        """One ops alert when a source has failed for `alert_after`, one when it recovers."""
        row = self.store.source_state(source.id) or {}
        channel = self.config.rules.ops_channel
        if down:
            since = row.get("failing_since")
            if row.get("down_alerted") or not since:
                return
            if (now - datetime.fromisoformat(since)).total_seconds() < source.alert_after:
                return
            text = (f"source '{source.label}' ({source.id}) has failed since {since[:16]}: "
                    f"{row.get('last_error')}")
            korean = opstext.source_down(source, since, row.get("last_error"), int(row.get("failures") or 0))
            key = f"ops:down:{source.id}:{since}"
        else:
            text = f"source '{source.label}' ({source.id}) recovered"
            korean = opstext.source_up(source, now)
            key = f"ops:up:{source.id}:{now.isoformat()}"
        self.store.set_down_alerted(source.id, down)
        log.warning(text)
        if channel:  # the log speaks the CLI's English, Slack the team's Korean
            self.store.enqueue_ops(channel, key, korean, now)

    def read_calls(self, until: float | None = 0.0) -> int:
        """Store the calls read so far (waiting for the others until monotonic `until`; None: all of
        them). -> alerts queued or released."""
        return self.reader.collect(self.matcher, self.config.rules.max_age, until)

    def close(self) -> None:
        self.reader.stop()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.session.close()


def poll_all(cycle: Cycle, sources: list[Source], honour_retry_after: bool = True) -> list[SourceReport]:
    """Poll the given sources: fetches in threads (at most 2 x WORKERS in flight, so memory stays
    bounded), parsing in a process pool when there are enough sources to pay for one, storing in
    this thread the sources completed in the last COMMIT_EVERY seconds, in one transaction (each
    source's rows and fetch state commit together). Reports come back in source order."""
    reports: dict[str, SourceReport] = {}
    now = cycle.clock()
    cycle.load_states()
    todo: list[Source] = []
    for source in sources:
        until = cycle.blocked_until(source, now) if honour_retry_after else None
        if until is not None:
            reports[source.id] = SourceReport(source.id, "skipped", error=f"retry after {until.isoformat()}")
        else:
            todo.append(source)
    # Workers are forked before any fetch thread starts, so only when enough bodies are expected: a warm
    # cycle, where sources answer 304, forks none (the few bodies it gets are parsed in the fetch threads).
    expected = [source.kind for source in todo if cycle.expects_body(source)]
    pool = ParsePool(cycle.matcher, kinds=expected) if len(expected) >= POOL_MIN_SOURCES else None
    parse_here = pool is None or pool.executor is None
    queue = iter(todo)
    fetching: dict[Future[Polled], Source] = {}
    parsing: dict[Future[tuple[Items | SourceError, list[guard.Timeout]]], Polled] = {}

    def start_next() -> None:
        source = next(queue, None)
        if source is not None:
            fetching[cycle.submit(source, parse_here)] = source

    ready: list[Polled] = []  # finished, not stored yet
    last_commit = time.monotonic()
    try:
        for _ in range(2 * WORKERS):
            start_next()
        while fetching or parsing or ready:
            wait_for = max(0.0, last_commit + COMMIT_EVERY - time.monotonic()) if ready else None
            done = wait([*fetching, *parsing], wait_for, FIRST_COMPLETED)[0] if fetching or parsing else set()
            for future in done:
                if future in fetching:
                    del fetching[future]
                    start_next()
                    polled = future.result()
                    if not parse_here and polled.error is None and polled.fetched.status == "ok":
                        parsing[pool.submit(polled.source, *parse_args(polled.fetched))] = polled
                        continue
                else:
                    outcome, timed_out = future.result()
                    guard.add(timed_out)  # regex timeouts met in the worker, recorded with the others
                    polled = finish(parsing.pop(future), outcome)
                ready.append(polled)
            if ready and (not (fetching or parsing) or time.monotonic() - last_commit >= COMMIT_EVERY):
                with cycle.store.transaction():  # one commit for the sources that finished meanwhile
                    for polled in ready:
                        reports[polled.source.id] = cycle.record(polled)
                ready, last_commit = [], time.monotonic()
    finally:
        cycle.states = {}
        if pool is not None:
            pool.close()
    verdicts.record_timeouts(cycle.store, cycle.config.rules, cycle.clock())
    return [reports[s.id] for s in sources]


@dataclass
class OnceReport:
    sources: list[SourceReport]
    delivery: DeliveryReport
    rematch: RematchReport | None = None  # when the rules in force were not those of `config`
    reads: dict[str, list[int]] = field(default_factory=dict)  # source -> [calls read, alerts they queued]


def run_once(config: Config, store: Store, sender: Sender, only: list[str] | None = None,
             clock: Callable[[], datetime] = now_kst, team: Any = None) -> OnceReport:
    """`watcher once`: poll every enabled source (or only the given ids), then deliver pending alerts."""
    sources = [s for s in config.sources if s.enabled and (not only or s.id in only)]
    cycle = Cycle(config, store, clock)
    try:
        rematch = cycle.apply_rules()
        reports = poll_all(cycle, sources)
        cycle.read_calls(until=cycle.reader.held_until)  # the calls read before their alerts' wait ends
        if not only:  # a full round; `once --source X` does not vouch for the others
            store.record_heartbeat("once", clock(), len(sources), os.getpid())
        store.queue_due(config.rules, clock())  # reminders, morning summaries
        delivery = deliver_settled(store, sender, clock, config.rules.digest_over, public_url=config.rules.public_url,
                                   team=team)
        if cycle.reader.pending:  # readings slower than the wait: stored, and what they earn sent, after
            cycle.read_calls(until=None)
            delivery = delivery.add(deliver_settled(store, sender, clock, config.rules.digest_over,
                                                    public_url=config.rules.public_url, team=team))
    finally:
        cycle.close()
    return OnceReport(reports, delivery, rematch, cycle.reader.done)


def deliver_settled(store: Store, sender: Sender, clock: Callable[[], datetime], digest_over: int,
                    budget: float = 60.0, public_url: str | None = None, team: Any = None) -> DeliveryReport:
    """Deliver, then keep going while Slack only asks for short waits (429 Retry-After, pacing):
    `once` should leave nothing pending that a minute's patience would have sent."""
    started = time.monotonic()
    report = deliver(store, sender, clock(), digest_over, public_url=public_url, team=team)
    sent, failed, dropped = report.sent, report.failed, report.dropped
    while report.pending:
        next_at = store.next_pending_attempt("update")  # message updates are not waited for
        due = datetime.fromisoformat(next_at) if next_at else clock()
        wait = max(0.0, (due - clock()).total_seconds())
        if time.monotonic() - started + wait > budget:
            break
        time.sleep(wait + 0.05)
        report = deliver(store, sender, clock(), digest_over, public_url=public_url, team=team)
        sent, failed, dropped = sent + report.sent, failed + report.failed, dropped + report.dropped
        if not report.sent and not report.failed:
            break
    report.sent, report.failed, report.dropped = sent, failed, dropped
    return report
