"""`watcher check`, `watcher once` and `watcher run`: validate the config, poll once, poll for ever."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import click

from watcher.models import Config
from watcher.settings import env_seconds
from watcher.termsafe import term

if TYPE_CHECKING:
    pass

from watcher.cli.common import (
    _config,
    command,
    load_with_store,
    setting,
)


@command()
def check() -> None:
    """Validate sources.yaml and rules.yaml; print FILE:LINE: message for each problem.

    Example: watcher check --rules my-rules.yaml
    """
    from watcher.config import envcheck

    cfg, problems, notes = _config().check(setting("sources"), setting("rules"))
    env_errors, env_warnings = envcheck.problems(os.environ, envcheck.used_names([setting("sources"),
                                                                                   setting("rules")]))
    problems = problems + [e for e in env_errors if e not in problems]
    for line in notes + [f"warning: {w}" for w in env_warnings]:
        click.echo(line)
    if problems:
        for line in problems:
            click.echo(line, err=True)
        sys.exit(2)
    assert cfg is not None
    enabled = sum(1 for s in cfg.sources if s.enabled)
    click.echo(f"ok: {enabled} of {len(cfg.sources)} sources enabled, {len(cfg.rules.rules)} rules")


ALERTS_FAILED = 3  # `once --fail-on-alerts`: Slack refused an alert, or could not be reached


@command()
@click.option("--source", "only", multiple=True, metavar="ID", help="poll only this source (repeatable)")
@click.option("--fail-on-alerts", is_flag=True,
              help=f"exit {ALERTS_FAILED} when an alert could not be delivered in this run (for cron)")
def once(only: tuple[str, ...], fail_on_alerts: bool) -> None:
    """Poll every enabled source now, store, match and send pending alerts.

    Exit 0 when it ran, also when sources or alerts failed (the summary and stderr say which);
    2 for a bad config. With --fail-on-alerts, exit 3 when Slack refused an alert or could not be
    reached (the alerts stay pending and are retried; `watcher alerts` says why).

    Example: watcher once --source ntis; watcher once --fail-on-alerts || mail -s gongmo ops@example.org
    """
    from watcher.deliver.senders import make_sender
    from watcher.pipeline.cycle import run_once

    def known_sources(cfg: Config) -> None:
        unknown = [s for s in only if cfg.source(s) is None]
        if unknown:
            raise click.BadParameter(f"unknown source id: {', '.join(unknown)}", param_hint="--source")

    cfg, store = load_with_store(known_sources)
    report = run_once(cfg, store, make_sender(os.environ), list(only) or None, team=_team_view(store))
    if report.rematch is not None and report.rematch.checked:
        m = report.rematch
        click.echo(f"rules changed: {m.checked} stored announcements matched again, {m.changed} changed, "
                   f"{m.alerts_queued} alerts queued")
    for r in report.sources:
        detail = r.error if r.error else f"{r.items} items, {r.new} new, {r.alerts} alerts queued"
        if r.id in report.reads:  # new calls read with their detail page and attachments
            detail += f"; {report.reads[r.id][0]} calls read, {report.reads[r.id][1]} alerts queued"
        click.echo(term(f"{r.id:<20} {r.status:<12} {detail}"))
    d = report.delivery
    click.echo(f"alerts: {d.sent} sent, {d.pending} pending" + (f", {d.failed} failed" if d.failed else "")
               + (f", {d.dropped} message updates dropped" if d.dropped else ""))
    if d.failed:
        for error in dict.fromkeys(d.errors):
            click.echo(term(f"alert not delivered: {error}"), err=True)
        click.echo("`watcher alerts` lists what waits, with what to do", err=True)
        if fail_on_alerts:
            sys.exit(ALERTS_FAILED)


STOP_GRACE = 10.0  # seconds `run` may take to stop after SIGTERM (WATCHER_STOP_GRACE)


def _exit_after(seconds: float) -> None:
    time.sleep(seconds)
    from watcher.settings import service_log

    service_log.warning("still busy %gs after the stop signal: exiting now", seconds)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@command()
def run() -> None:
    """Poll each source on its interval until SIGINT/SIGTERM; reload edited config files.

    Example: WATCHER_DB=/data/watcher.db watcher run
    """
    from watcher.deliver.senders import make_sender
    from watcher.pipeline.loop import Runner

    cfg, store = load_with_store()
    sources_path, rules_path = setting("sources"), setting("rules")

    def reload() -> Config:
        return _config().load_config(sources_path, rules_path)

    runner = Runner(cfg, store, make_sender(os.environ), reload=reload,
                    fingerprint=lambda: _config().config_fingerprint(sources_path, rules_path),
                    team=_team_view(store))
    from watcher.settings import service_log

    def stop(signum: int, _frame: object) -> None:
        """Finish the round in hand and exit 0; past STOP_GRACE seconds (a database held by another
        process, a Slack call hanging), exit anyway: every write is one transaction, nothing is lost."""
        if runner.stop.is_set():
            return
        service_log.info("%s received: finishing the write in hand, then stopping", signal.Signals(signum).name)
        runner.stop.set()
        threading.Thread(target=_exit_after, args=(env_seconds("WATCHER_STOP_GRACE", STOP_GRACE),),
                         name="stop-grace", daemon=True).start()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    service_log.info("watching %d sources (%s, %s, database %s)", sum(s.enabled for s in cfg.sources),
                     sources_path, rules_path, setting("db"))
    listener = _listener(store.path, lambda: runner.cycle.config)
    runner.run_forever()
    if listener is not None:
        listener.stop()
    service_log.info("stopped")
    sys.stdout.flush()
    sys.stderr.flush()
    # do not wait for fetches still in flight; every write is committed (and with a WAL deleted under
    # us, closing would checkpoint it over another process's writes: not closed, on purpose)
    os._exit(1 if runner.fatal else 0)


def _team_view(store: Any) -> Any:
    """Team actions on (SLACK_APP_TOKEN and SLACK_BOT_TOKEN): the view that puts buttons on alerts."""
    from watcher.team.render import team_view

    return team_view(os.environ, store)


def _listener(db_path: Any, config: Any) -> Any:
    """`run` with team actions on: the Socket Mode listener, started (None when off)."""
    from watcher.team.settings import team_settings

    settings = team_settings(os.environ)
    if settings is None:
        return None
    from watcher.team.listener import Listener

    listener = Listener(settings, db_path, config)
    listener.start()
    from watcher.settings import service_log

    service_log.info("listening to Slack (Socket Mode) for the team's actions")
    return listener
