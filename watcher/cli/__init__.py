"""The `watcher` command line: a thin click layer over the pipeline modules.

Every WatcherError becomes one line on stderr (config errors exit 2); no traceback reaches a user
unless WATCHER_DEBUG=1.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from watcher.errors import ConfigError, InputError, MissingDatabase, WatcherError, database_error
from watcher.models import Config
from watcher.termsafe import term

if TYPE_CHECKING:
    from watcher.store import Store

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
PATHS = {  # option -> (environment variable, default)
    "sources": ("WATCHER_SOURCES", "./sources.yaml"),
    "rules": ("WATCHER_RULES", "./rules.yaml"),
    "db": ("WATCHER_DB", "./db/watcher.db"),
}


def _remember(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        ctx.find_root().meta[f"watcher.{param.name}"] = value
    return value


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is now (click's test runner swaps it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class KstFormatter(logging.Formatter):
    """Log lines stamped in Korea time, like the data: `2026-12-02 06:30:00+09:00 INFO ...`."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        from watcher.store.search import KST

        return datetime.fromtimestamp(record.created, KST).isoformat(sep=" ", timespec="seconds")


def configure_logging(verbose: bool) -> None:
    """One stderr handler on the root logger; -v (before or after the command) turns on INFO."""
    root = logging.getLogger()
    if not any(isinstance(h, _Stderr) for h in root.handlers):
        handler = _Stderr()
        handler.setFormatter(KstFormatter("%(asctime)s %(levelname)s %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    # slack_sdk logs each failed request itself; the watcher reports it in one line of its own
    logging.getLogger("slack_sdk").setLevel(logging.NOTSET if verbose else logging.CRITICAL)


def _verbose(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.find_root().meta["watcher.verbose"] = True
        configure_logging(True)
    return value


def path_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--sources/--rules/--db and -v, accepted before or after the command name."""
    func = click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_verbose,
                        help="log every poll to stderr")(func)
    for name, (env, default) in reversed(PATHS.items()):
        func = click.option(
            f"--{name}", metavar="FILE", default=None, expose_value=False, callback=_remember,
            is_eager=True, help=f"{name} file [env {env}; default {default}]",
        )(func)
    return func


def setting(name: str) -> str:
    ctx = click.get_current_context()
    env, default = PATHS[name]
    return ctx.find_root().meta.get(f"watcher.{name}") or os.environ.get(env) or default


def _config() -> Any:
    """The config module (ruamel.yaml, validation): imported only by commands that parse the files."""
    from watcher.config import load as config

    return config


def load() -> Config:
    return _config().load_config(setting("sources"), setting("rules"))


def load_with_store(validate: Callable[[Config], None] = lambda cfg: None) -> tuple[Config, Store]:
    """`once` / `run`: the config, parsed again only when a file changed (watcher/configcache.py), and
    the store. A database that does not exist yet is created only once the config has passed
    `validate` (which raises for a bad command line)."""
    from watcher.config.cache import keep, load_cached

    if not Path(setting("db")).exists():
        cfg = load()
        validate(cfg)
        store = open_store()
        keep(setting("sources"), setting("rules"), store, cfg)  # the next run reads it from there
        return cfg, store

    store = open_store()
    cfg = load_cached(setting("sources"), setting("rules"), store)
    validate(cfg)
    return cfg, store


def open_store() -> Store:
    from watcher.store import Store  # imported here to keep `watcher check` light

    return Store(setting("db"))


def open_existing_store() -> Store:
    """The database for a read-only command: MissingDatabase (one line, exit 2) when there is none;
    an existing one is migrated like any, nothing is created."""
    path = Path(setting("db"))
    if not path.is_file():
        raise MissingDatabase(path)
    return open_store()


def json_out(rows: list[dict[str, Any]]) -> None:
    click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))


def iso_day(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value.replace(".", "-"))
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date like 2026-11-01") from None
    from watcher.store.search import DAY_MAX, DAY_MIN

    if not DAY_MIN <= day <= DAY_MAX:
        raise InputError(f"date {value} is out of range ({DAY_MIN} to {DAY_MAX})")
    return day.isoformat()


class Group(click.Group):
    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list with each first sentence in full (click cuts them at the terminal width)."""
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(str(exc), err=True)
            ctx.exit(2)
        except InputError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except WatcherError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt, BrokenPipeError):
            raise  # click ends quietly on a closed pipe (`watcher search x | head -1`)
        except sqlite3.Error as exc:
            if os.environ.get("WATCHER_DEBUG"):
                raise
            click.echo(f"error: {database_error(setting('db'), exc)}", err=True)
            ctx.exit(1)
        except Exception as exc:
            if os.environ.get("WATCHER_DEBUG"):
                raise
            click.echo(f"error: unexpected {type(exc).__name__}: {exc} (WATCHER_DEBUG=1 shows more)", err=True)
            ctx.exit(1)


class RootGroup(Group):
    """The `watcher` group: commands kept in other modules are imported when one of them is run (or
    listed, or `.commands` is read), so `watcher once` does not pay for the web, calendar or YAML code."""

    LAZY = {"calendar": "calendar", "search": "desk", "serve": "desk", "slack": "ops", "sources": "sources"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._registered: dict[str, click.Command] = {}
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        for name in self.LAZY:
            self._load(name)
        return self._registered

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._registered = dict(value)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        if name is None:
            raise TypeError("Command has no name.")
        self._registered[name] = cmd

    def _load(self, name: str) -> None:
        if name in self.LAZY and name not in self._registered:
            import importlib

            importlib.import_module(f"{__package__}.{self.LAZY[name]}")

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load(cmd_name)
        return self._registered.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self._registered) | set(self.LAZY))


@click.group(cls=RootGroup, context_settings=CONTEXT)
@path_options
@click.version_option(package_name="gongmo-watcher")
def cli() -> None:
    """Watch Korean public-call sources and alert Slack on the calls your rules care about.

    Options go before or after the command: watcher -v once and watcher once -v both work.

    Example: watcher once
    """
    configure_logging(bool(click.get_current_context().find_root().meta.get("watcher.verbose")))


def command(group: click.Group = cli, **kwargs: Any) -> Callable[..., Any]:
    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        return group.command(context_settings=CONTEXT, **kwargs)(path_options(func))

    return wrap


@command()
def check() -> None:
    """Validate sources.yaml and rules.yaml; print FILE:LINE: message for each problem.

    Example: watcher check --rules my-rules.yaml
    """
    cfg, problems, notes = _config().check(setting("sources"), setting("rules"))
    for line in notes:
        click.echo(line)
    if problems:
        for line in problems:
            click.echo(line, err=True)
        sys.exit(2)
    assert cfg is not None
    enabled = sum(1 for s in cfg.sources if s.enabled)
    click.echo(f"ok: {enabled} of {len(cfg.sources)} sources enabled, {len(cfg.rules.rules)} rules")


@command()
@click.option("--source", "only", multiple=True, metavar="ID", help="poll only this source (repeatable)")
def once(only: tuple[str, ...]) -> None:
    """Poll every enabled source now, store, match and send pending alerts.

    Example: watcher once --source ntis
    """
    from watcher.deliver.loop import make_sender
    from watcher.pipeline.cycle import run_once

    def known_sources(cfg: Config) -> None:
        unknown = [s for s in only if cfg.source(s) is None]
        if unknown:
            raise click.BadParameter(f"unknown source id: {', '.join(unknown)}", param_hint="--source")

    cfg, store = load_with_store(known_sources)
    report = run_once(cfg, store, make_sender(os.environ), list(only) or None)
    if report.rematch is not None and report.rematch.checked:
        m = report.rematch
        click.echo(f"rules changed: {m.checked} stored announcements matched again, {m.changed} changed, "
                   f"{m.alerts_queued} alerts queued")
    for r in report.sources:
        detail = r.error if r.error else f"{r.items} items, {r.new} new, {r.alerts} alerts queued"
        click.echo(term(f"{r.id:<20} {r.status:<12} {detail}"))
    d = report.delivery
    click.echo(f"alerts: {d.sent} sent, {d.pending} pending" + (f", {d.failed} failed" if d.failed else ""))


@command()
def run() -> None:
    """Poll each source on its interval until SIGINT/SIGTERM; reload edited config files.

    Example: WATCHER_DB=/data/watcher.db watcher run
    """
    from watcher.deliver.loop import make_sender
    from watcher.pipeline.loop import Runner

    cfg, store = load_with_store()
    sources_path, rules_path = setting("sources"), setting("rules")

    def reload() -> Config:
        return _config().load_config(sources_path, rules_path)

    runner = Runner(cfg, store, make_sender(os.environ), reload=reload,
                    fingerprint=lambda: _config().config_fingerprint(sources_path, rules_path))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: runner.stop.set())
    logging.getLogger("watcher").warning("watching %d sources", sum(s.enabled for s in cfg.sources))
    runner.run_forever()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # do not wait for fetches still in flight; every write is committed


@cli.group(cls=Group, context_settings=CONTEXT)
@path_options
def rules() -> None:
    """Work with rules.yaml."""


@command(group=rules, name="test")
@click.option("--rule", metavar="NAME", help="only this rule")
@click.option("--since", metavar="DATE", help="only announcements published on or after DATE")
@click.option("--diff", is_flag=True,
              help="show what the current rules.yaml would add or drop against the rules in force "
                   "(the file last used by once/run, or --base)")
@click.option("--base", metavar="FILE", help="with --diff: compare against this rules file")
@click.option("--json", "as_json", is_flag=True, help="print one JSON array")
def rules_test(rule: str | None, since: str | None, diff: bool, base: str | None, as_json: bool) -> None:
    """Apply the current rules.yaml to stored announcements; sends nothing.

    Example: watcher rules test --rule medical-devices --since 2026-11-01
    """
    from watcher.match.matcher import Matcher
    from watcher.pipeline.backtest import backtest
    from watcher.pipeline.backtest import diff as diff_rules

    cfg = load()
    if rule and rule not in {r.name for r in cfg.rules.rules}:
        raise click.BadParameter(f"no rule named '{rule}' in {cfg.rules_path}", param_hint="--rule")
    store = open_existing_store()
    anns = list(store.announcements(since=iso_day(since)))
    if diff:
        old = _rules_in_force(store, base, cfg)
        result = diff_rules(Matcher(old), Matcher(cfg.rules), anns)
        rows = [{"change": kind, **row} for kind in ("added", "dropped") for row in result[kind]
                if not rule or row["rule"] == rule]
    else:
        rows = backtest(Matcher(cfg.rules), anns, rule=rule)
    if as_json:
        json_out(rows)
        return
    if not rows:
        click.echo("no changes" if diff else "no stored announcement matches")
        return
    for row in rows:
        mark = {"added": "+ ", "dropped": "- "}.get(row.get("change", ""), "")
        words = ", ".join(row.get("words") or [])
        click.echo(term(f"{mark}{row['rule']:<20} {row['source']:<12} {row['title']}  ({words})"))
    click.echo(f"{len(rows)} {'changes' if diff else 'matches'}")


def _rules_in_force(store: Any, base: str | None, cfg: Config) -> Any:
    import tempfile

    source_ids = [s.id for s in cfg.sources]
    if base:
        return _config().load_rules(base, source_ids)
    row = store.db.execute("SELECT value FROM meta WHERE key = 'rules_in_force'").fetchone()
    if row is None:
        raise click.UsageError("no rules in force recorded yet (run `watcher once` first, or pass --base FILE)")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", encoding="utf-8", delete=False) as fh:
        fh.write(row[0])
    try:
        return _config().load_rules(fh.name, source_ids)
    finally:
        os.unlink(fh.name)


@command()
@click.option("--json", "as_json", is_flag=True, help="print one JSON array")
@click.option("--check", is_flag=True,
              help="exit 0 when healthy, 1 with one line per reason when not (for monitors and HEALTHCHECK)")
def status(as_json: bool, check: bool) -> None:
    """One row per configured source: state (ok, failing, degraded, stale, disabled, never polled) and why,
    last success, consecutive failures, items stored, last new item.

    Example: watcher status --json; watcher status --check || alert-me
    """
    if check:
        from watcher.cli.ops import status_check

        sys.exit(status_check(load(), setting("db")))
    from datetime import datetime

    from watcher.health import KST, source_rows

    cfg = load()
    store = open_existing_store()
    rows = source_rows(cfg, store, datetime.now(KST))
    if as_json:
        json_out(rows)
        return
    click.echo(f"{'source':<16} {'state':<12} {'last success':<16} {'failures':>8} {'items':>6} "
               f"{'last new':<10}  reason / last error")
    for row in rows:
        ok = (row.get("last_success") or "never")[:16].replace("T", " ")
        click.echo(f"{row['id']:<16} {row['state']:<12} {ok:<16} {row['failures']:>8} {row['items']:>6} "
                   f"{(row.get('last_new') or '-')[:10]:<10}  {term(row['reason'])}")
    configured = {s.id for s in cfg.sources}
    gone = [r for r in store.health_rows().values() if r["id"] not in configured]
    for row in sorted(gone, key=lambda r: r["id"]):
        click.echo(f"not in {cfg.sources_path} any more: {row['id']} ({row['items']} items stored)")
    _slack_status(store)


def _slack_status(store: Any) -> None:
    """Alerts Slack has not accepted yet, per channel, with the last error (e.g. channel_not_found)."""
    pending = store.db.execute(
        "SELECT channel, count(*), max(last_error) FROM alerts WHERE status = 'pending' GROUP BY channel"
    ).fetchall()
    for channel, count, error in pending:
        click.echo(f"slack {channel}: {count} alert(s) pending" + (f", last error: {error}" if error else ""))


@command()
def demo() -> None:
    """Run the whole pipeline on bundled sample sources; alerts go to standard output.

    Example: watcher demo
    """
    from watcher.pipeline.demo import run_demo

    run_demo(setting("rules"))


def main() -> None:
    cli(prog_name="watcher")


if __name__ == "__main__":  # pragma: no cover
    main()

