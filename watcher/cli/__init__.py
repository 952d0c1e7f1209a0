"""The `watcher` command line: a thin click layer over the pipeline modules.

Every WatcherError becomes one line on stderr (config errors exit 2); no traceback reaches a user
unless WATCHER_DEBUG=1. This module holds only the root group; each command lives in the module
of its family (`COMMANDS`), imported when that command is run, listed or help is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from watcher.cli.common import CONTEXT, Group, configure_logging, path_options

# command name -> the module of watcher/cli/ that defines it (an attribute of the same name)
COMMANDS = {
    "alerts": "alerts", "attachment": "attachment", "calendar": "calendar", "check": "run", "demo": "status",
    "labels": "team", "once": "run", "rules": "rules", "run": "run", "search": "desk", "serve": "desk",
    "slack": "ops", "sources": "sources", "status": "status",
}


class RootGroup(Group):
    """The `watcher` group: commands kept in other modules are imported when one of them is run (or
    listed, or `.commands` is read), so `watcher once` does not pay for the web, calendar or YAML code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._registered: dict[str, click.Command] = {}
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        for name in COMMANDS:
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
        if name in COMMANDS and name not in self._registered:
            module = importlib.import_module(f"{__package__}.{COMMANDS[name]}")
            self._registered[name] = getattr(module, name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load(cmd_name)
        return self._registered.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self._registered) | set(COMMANDS))


@click.group(cls=RootGroup, context_settings=CONTEXT)
@path_options
@click.version_option(package_name="gongmo-watcher")
def cli() -> None:
    """Watch Korean public-call sources and alert Slack on the calls your rules care about.

    Options go before or after the command: watcher -v once and watcher once -v both work.

    Example: watcher once
    """
    configure_logging(bool(click.get_current_context().find_root().meta.get("watcher.verbose")))


def main() -> None:
    cli(prog_name="watcher")


if __name__ == "__main__":  # pragma: no cover
    main()
