"""`watcher calendar`: matched calls' deadlines as iCalendar on standard output (read-only)."""

from __future__ import annotations

import sys

import click

from watcher.cli.common import command, setting
from watcher.config import load as config_mod
from watcher.errors import ConfigError, MissingDatabase


def rule_names() -> list[str] | None:
    """The rules of rules.yaml, or None when it cannot be read (the name is then not checked)."""
    try:
        return [r.name for r in config_mod.load_rules(setting("rules")).rules]
    except (ConfigError, OSError):
        return None


@command()
@click.option("--rule", metavar="NAME", help="only calls this rule matched")
@click.option("--open", "open_only", is_flag=True, help="only calls whose deadline is today or later")
def calendar(rule: str | None, open_only: bool) -> None:
    """Print an iCalendar (RFC 5545) file: one all-day event per matched call with a deadline.

    Example: watcher calendar --rule medical-devices --open > deadlines.ics
    """
    known = rule_names()
    if rule and known is not None and rule not in known:
        raise click.BadParameter(f"unknown rule '{rule}' (known: {', '.join(known) or 'none'})", param_hint="--rule")
    from watcher.pipeline.cycle import now_kst
    from watcher.web.calendar import calendar_for

    data = calendar_for(setting("db"), rule, open_only, now_kst())
    if data is None:
        raise MissingDatabase(setting("db"))
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
