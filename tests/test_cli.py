"""The click layer: global options, help, docs that cannot drift, one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from watcher.cli import cli
from watcher.store import Store

ROOT = Path(__file__).parent.parent


def all_commands(group: click.Group, prefix: str = "watcher") -> list[tuple[str, click.Command]]:
    found = []
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            found.extend(all_commands(cmd, f"{prefix} {name}"))
        else:
            found.append((f"{prefix} {name}", cmd))
    return found


@pytest.mark.parametrize("name,cmd", all_commands(cli))
def test_every_command_is_in_the_readme(name, cmd):
    assert f"`{name}" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name,cmd", all_commands(cli))
def test_every_command_help_has_an_example(name, cmd):
    assert "Example:" in (cmd.help or "")


def test_dash_h_shows_help():
    result = CliRunner().invoke(cli, ["search", "-h"])
    assert result.exit_code == 0 and "--since" in result.output


SOURCES = "sources:\n  - id: a\n    url: http://127.0.0.1:9/a.xml\n"
RULES = "rules:\n  - name: r\n    any: [특구]\n"


@pytest.mark.parametrize("before", [True, False])
def test_db_option_works_before_or_after_the_command(tmp_path, before):
    (tmp_path / "s.yaml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RULES, encoding="utf-8")
    db = tmp_path / "sub" / "x.db"
    Store(db).close()
    opts = ["--db", str(db), "--sources", str(tmp_path / "s.yaml"), "--rules", str(tmp_path / "r.yaml")]
    args = [*opts, "status"] if before else ["status", *opts]
    result = CliRunner().invoke(cli, args, env={"WATCHER_DB": str(tmp_path / "env.db")})
    assert result.exit_code == 0, result.output
    assert "never polled" in result.output and not (tmp_path / "env.db").exists()


def test_environment_names_the_database(tmp_path):
    (tmp_path / "s.yaml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RULES, encoding="utf-8")
    db = tmp_path / "env.db"
    Store(db).close()
    result = CliRunner().invoke(cli, ["status", "--json"], env={
        "WATCHER_DB": str(db), "WATCHER_SOURCES": str(tmp_path / "s.yaml"), "WATCHER_RULES": str(tmp_path / "r.yaml")})
    assert result.exit_code == 0, result.output
    assert [(r["id"], r["state"]) for r in json.loads(result.output)] == [("a", "never polled")]


def test_status_with_no_database_is_one_line_and_creates_nothing(tmp_path):
    (tmp_path / "s.yaml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RULES, encoding="utf-8")
    db = tmp_path / "sub" / "x.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "--sources", str(tmp_path / "s.yaml"),
                                      "--rules", str(tmp_path / "r.yaml"), "status"])
    assert result.exit_code == 2 and "no database at" in result.output and str(db) in result.output
    assert len(result.output.strip().splitlines()) == 1 and not db.parent.exists()


def test_missing_config_file_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(cli, ["--sources", str(tmp_path / "nope.yaml"), "check"])
    assert result.exit_code == 2
    assert "nope.yaml" in result.output and "Traceback" not in result.output


def test_bad_date_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "search", "특구", "--since", "yesterday"])
    assert result.exit_code == 2 and re.search(r"not a date", result.output)


def test_path_options_also_work_between_rules_and_test(tmp_path):
    (tmp_path / "s.yaml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RULES, encoding="utf-8")
    opts = ["--db", str(tmp_path / "x.db"), "--sources", str(tmp_path / "s.yaml"), "--rules", str(tmp_path / "r.yaml")]
    result = CliRunner().invoke(cli, ["rules", *opts, "test", "--json"])
    assert result.exit_code == 2 and "no database at " + str(tmp_path / "x.db") in result.output
    Store(tmp_path / "x.db").close()
    result = CliRunner().invoke(cli, ["rules", *opts, "test", "--json"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "[]"
