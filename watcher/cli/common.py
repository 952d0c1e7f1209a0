"""What every command module of the CLI shares: the path options and settings, logging, loading
the config and opening the store, output helpers and the `Group` that turns a WatcherError into one
line. Command modules import this module, never the root group in `watcher/cli/__init__.py`.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from watcher.errors import ConfigError, InputError, MissingDatabase, WatcherError, database_error
from watcher.models import Config

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
    try:
        return open_store()
    except (sqlite3.OperationalError, OSError) as exc:  # a read-only file system, or a file we may not write
        text = str(exc).lower()
        if not ("readonly" in text or "read-only" in text or "unable to open" in text
                or getattr(exc, "errno", None) in (13, 30)):  # EACCES, EROFS
            raise
    from watcher.store import Store

    store = Store.open_readonly(path)  # read as it is: nothing migrated, nothing written
    if store is None:
        raise MissingDatabase(path)
    return store


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


def command(group: click.Group | None = None, **kwargs: Any) -> Callable[..., Any]:
    """A command with the shared context and path options: on `group`, or standalone (the root
    group finds standalone commands by name, see watcher/cli/__init__.py)."""
    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        if group is None:
            return click.command(context_settings=CONTEXT, **kwargs)(path_options(func))
        return group.command(context_settings=CONTEXT, **kwargs)(path_options(func))

    return wrap
