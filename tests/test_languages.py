"""One language per audience: the command line speaks English (README § Languages).

Every command's help, apart from its `Example:` lines (which may search Korean words), has no Hangul.
"""

from __future__ import annotations

import re

import click
from click.testing import CliRunner

from watcher.cli import cli

HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")


def commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out += commands(command, (*path, name))
        else:
            out.append((*path, name))
    return out


def test_every_command_help_is_english() -> None:
    korean = {}
    for path in commands(cli):
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        lines = [ln for ln in result.output.splitlines() if "Example" not in ln and not ln.startswith("  watcher ")]
        found = [ln.strip() for ln in lines if HANGUL.search(ln)]
        if found:
            korean[" ".join(path) or "watcher"] = found
    assert not korean, f"Korean in CLI help (the CLI speaks English): {korean}"
