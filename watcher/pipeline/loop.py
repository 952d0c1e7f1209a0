"""`watcher run`: each source polled on its own interval (with jitter and backoff), alerts delivered
between polls, rules.yaml / sources.yaml reloaded when edited. One poll is watcher/run.py's."""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any

import schedule

from watcher.deliver.loop import deliver
from watcher.deliver.senders import Sender
from watcher.errors import ConfigError, database_error
from watcher.health import backoff_delay
from watcher.models import Config
from watcher.notify import opstext
from watcher.pipeline import verdicts
from watcher.pipeline.cycle import Cycle, Polled, now_kst
from watcher.settings import service_log  # INFO shown without -v
from watcher.store import Store

log = logging.getLogger("watcher")

ROUND_BACKOFF, ROUND_BACKOFF_MAX = 1.0, 60.0  # `run` after a failed round (locked or full database, ...)
HEARTBEAT_EVERY = 30.0  # seconds between two `run` heartbeats (at most a quarter of the shortest interval)


class Runner:
    """`watcher run`: each source on its own interval (with jitter and backoff), alerts delivered
    between polls, rules.yaml / sources.yaml reloaded when edited. `stop` ends it cleanly."""

    def __init__(self, config: Config, store: Store, sender: Sender,
                 reload: Callable[[], Config] | None = None,
                 fingerprint: Callable[[], object] | None = None,
                 clock: Callable[[], datetime] = now_kst, tick: float = 0.5, team: Any = None) -> None:
        self.cycle = Cycle(config, store, clock)
        self.team = team  # team actions on: buttons and states on every message (watcher/team/render.py)
        self.store, self.sender, self.clock, self.tick = store, sender, clock, tick
        self.reload, self.fingerprint = reload, fingerprint
        self.stop = threading.Event()
        self.in_flight: dict[str, Future[Polled]] = {}
        self.started: dict[str, float] = {}  # source id -> monotonic start of its poll in flight
        self._beat: float | None = None  # monotonic time of the last heartbeat; None: first round running
        self.not_before: dict[str, datetime] = {}
        self.scheduler = schedule.Scheduler()
        self.jobs: dict[str, tuple[schedule.Job, float]] = {}  # source id -> (job, interval)
        self._seen_print = fingerprint() if fingerprint else None
        self.fatal: str | None = None  # why run_forever stopped on its own (the CLI exits 1 with it)
        self._wal = store.wal_file()  # the WAL this process's connection writes (see _wal_replaced)
        self._started = False  # rules applied and sources scheduled (`_start`)
        try:
            self._start()
        except sqlite3.OperationalError as exc:  # another process holds the database: the rounds retry
            log.warning("starting: %s; trying again", database_error(store.path, exc))

    def _start(self) -> None:
        """Edited rules applied to what is stored, then every source scheduled (polled at once)."""
        self.cycle.apply_rules()
        self._started = True
        self._reschedule(self.cycle.config)

    def _reschedule(self, config: Config) -> None:
        """A job per enabled source. A source that keeps its interval across a reload keeps its
        job (a reload polls nothing); a new one, or one with a new interval, is polled now."""
        self._beat_every = min([HEARTBEAT_EVERY] + [s.interval / 4 for s in config.sources if s.enabled])
        wanted = {s.id: s for s in config.sources if s.enabled}
        for source_id, (job, interval) in list(self.jobs.items()):
            if source_id not in wanted or wanted[source_id].interval != interval:
                self.scheduler.cancel_job(job)
                del self.jobs[source_id]
        for source in wanted.values():
            if source.id in self.jobs:
                continue
            low = max(1, int(source.interval * 0.9))
            high = max(low + 1, int(source.interval * 1.1))
            job = self.scheduler.every(low).to(high).seconds.do(self._due, source.id)
            self.jobs[source.id] = (job, source.interval)
            self._due(source.id)  # first poll now

    def _due(self, source_id: str) -> None:
        source = self.cycle.config.source(source_id)
        if source is None or not source.enabled or source_id in self.in_flight:
            return
        now = self.clock()
        if source_id in self.not_before and now < self.not_before[source_id]:
            return
        if self.cycle.blocked_until(source, now) is not None:
            return
        self.in_flight[source_id] = self.cycle.submit(source)
        self.started[source_id] = time.monotonic()

    def _collect(self) -> int:
        alerts = 0
        for source_id, future in list(self.in_flight.items()):
            if not future.done():
                continue
            polled = future.result()
            if self.cycle.config.source(source_id) is None:
                del self.in_flight[source_id]
                continue  # removed by a reload while in flight
            try:
                report = self.cycle.record(polled)
            except sqlite3.OperationalError:
                raise  # the database is locked or full: keep what was polled, store it next round
            except Exception as exc:  # one source's bad luck is not the round's
                del self.in_flight[source_id]
                self.not_before[source_id] = self.clock() + timedelta(seconds=polled.source.interval)
                log.error("%s: storing the poll failed: %s", source_id, one_line(exc))
                continue
            del self.in_flight[source_id]
            alerts += report.alerts
            row = self.store.source_state(source_id) or {}
            failures = int(row.get("failures") or 0)
            if report.status == "error":
                delay = backoff_delay(polled.source.interval, failures)
                self.not_before[source_id] = self.clock() + timedelta(seconds=delay)
                log.warning("%s: %s (failure %d, next try in %ds)", source_id, report.error, failures, delay)
            else:
                self.not_before.pop(source_id, None)
                log.info("%s: %s, %d items, %d new, %d alerts", source_id, report.status,
                         report.items, report.new, report.alerts)
        return alerts

    def _maybe_reload(self) -> None:
        if not (self.reload and self.fingerprint):
            return
        current = self.fingerprint()
        if current == self._seen_print:
            return
        try:
            config = self.reload()
        except Exception as exc:  # ConfigError, or anything a hostile file provokes: never retried each round
            self._seen_print = current
            if not isinstance(exc, ConfigError):
                exc = ConfigError([f"config could not be loaded: {one_line(exc)}"])
            log.error("config edit rejected, keeping the last good config:\n%s", exc)
            channel = self.cycle.config.rules.ops_channel
            if channel:
                digest = hashlib.sha1(str(exc).encode()).hexdigest()[:12]
                self.store.enqueue_ops(channel, f"ops:config:{digest}", opstext.config_rejected(str(exc)),
                                       self.clock())
            return
        self._seen_print = current
        self.cycle.set_config(config)
        service_log.info("config reloaded: %d sources, %d rules", len(config.sources), len(config.rules.rules))
        self.cycle.apply_rules()
        for source_id in self.cycle.refetch & set(self.jobs):  # read differently now: poll it at once
            self.scheduler.cancel_job(self.jobs.pop(source_id)[0])
        self._reschedule(config)

    def _heartbeat(self) -> None:
        """Record a completed poll round of `run` (for `status --check`): once every first poll has
        finished, then every HEARTBEAT_EVERY seconds (or a quarter of the shortest interval) while
        no poll hangs past its timeout."""
        now = time.monotonic()
        if self._beat is None and self.in_flight:
            return
        if self._beat is not None and now - self._beat < self._beat_every:
            return
        config = self.cycle.config
        for source_id in self.in_flight:
            source = config.source(source_id)
            if source is not None and now - self.started.get(source_id, now) > source.timeout + 30:
                return  # a poll hangs: no completed round
        try:
            self.store.record_heartbeat("run", self.clock(), sum(s.enabled for s in config.sources), os.getpid())
        except sqlite3.Error as exc:  # a locked or full database: try again at the next tick
            log.warning("heartbeat not recorded: %s", exc)
            return
        self._beat = now

    def run_forever(self) -> None:
        """Rounds until `stop`. A failed round (database locked past the busy timeout, disk full, any
        error) is logged in one line and retried after a backoff; pending alerts stay in the outbox."""
        self._last_delivery = 0.0
        failures = 0
        while not self.stop.is_set():
            if self._wal_replaced():
                break
            try:
                self._round()
            except Exception as exc:
                failures += 1
                delay = min(ROUND_BACKOFF * 2 ** (failures - 1), ROUND_BACKOFF_MAX)
                what = database_error(self.store.path, exc) if isinstance(exc, sqlite3.Error) else one_line(exc)
                log.error("poll round failed: %s; trying again in %gs", what, delay)
                self.stop.wait(delay)
                continue
            if failures:
                log.warning("poll round succeeded again after %d failed round(s)", failures)
                failures = 0
            self.stop.wait(self.tick)
        self.cycle.close()

    def _wal_replaced(self) -> bool:
        """The database's WAL file deleted or replaced under this process (a clean-up script, a restore):
        this connection would go on in a file no other process reads, and send again what they sent.
        What it committed is saved into the database when no other process has started a new WAL; then
        `run` stops (the service restarts it on the database as it is)."""
        current = self.store.wal_file()
        if self._wal is None:
            self._wal = current
            return False
        if current == self._wal:
            return False
        saved = self.store.save_orphaned_wal()
        self.fatal = (f"the database's WAL file ({self.store.path}-wal) was deleted or replaced under this process; "
                      + ("its last writes were saved into the database; " if saved else "")
                      + "stopping so that nothing is sent twice (start it again)")
        log.error(self.fatal)
        return True

    def _round(self) -> None:
        if not self._started:
            self._start()
        self._maybe_reload()
        if verdicts.stale(self.store):  # another process stored polls under other rules (pipeline/verdicts.py)
            self.cycle.apply_rules()
        self.scheduler.run_pending()
        queued = self._collect() + self.cycle.read_calls()  # polls, then the calls read meanwhile
        verdicts.record_timeouts(self.store, self.cycle.config.rules, self.clock())
        self._heartbeat()
        if queued or time.monotonic() - self._last_delivery > 5 or self.cycle.reader.hold_ended():
            rules = self.cycle.config.rules
            self.store.queue_due(rules, self.clock())  # reminders, morning summaries
            deliver(self.store, self.sender, self.clock(), rules.digest_over, stop=self.stop,
                    public_url=rules.public_url, team=self.team)
            self._last_delivery = time.monotonic()


def one_line(exc: BaseException) -> str:
    """`OperationalError: database is locked`: an error's type and first line."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__

