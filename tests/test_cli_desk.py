"""`watcher search` and the other read-only commands as a user meets them: exact one-line errors
(exit 2), nothing created, N of M shown, sorts and filters, the three exports, a closed pipe,
-v anywhere, full help, Korean-width columns and Korea-time logs."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from tests.desk_data import N, agency, deadline, fill_desk, title, write_config
from watcher.cli import cli
from watcher.desk import display_width
from watcher.store.search import KST

NOW = datetime.now(KST)
TODAY = NOW.date()
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("cli-desk")
    fill_desk(folder / "w.db", NOW)
    sources, rules = write_config(folder)
    return {"db": str(folder / "w.db"), "sources": str(sources), "rules": str(rules), "dir": str(folder)}


def invoke(desk: dict[str, str], *args: str, code: int = 0) -> tuple[str, str]:
    result = CliRunner().invoke(cli, ["--db", desk["db"], "--sources", desk["sources"], "--rules", desk["rules"],
                                      *args])
    assert result.exit_code == code, (result.output, result.exception)
    return result.stdout, result.stderr


# ---- one-line errors, exit 2 ---------------------------------------------------------------------

def test_unknown_source_names_the_known_ones(desk):
    out, err = invoke(desk, "search", "의료기기", "--source", "nosuch", code=2)
    assert err == "error: unknown source 'nosuch' (known: bizinfo, kstartup, ntis, seoul)\n" and out == ""


def test_unknown_rule_names_the_known_ones(desk):
    _, err = invoke(desk, "search", "--rule", "nosuch", code=2)
    assert err == "error: unknown rule 'nosuch' (known: medical)\n"


def test_reversed_date_range(desk):
    _, err = invoke(desk, "search", "x", "--since", "2026-12-01", "--until", "2026-11-01", code=2)
    assert err == "error: --since 2026-12-01 is after --until 2026-11-01\n"


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_out_of_range_date(desk, day):
    _, err = invoke(desk, "search", "x", "--until", day, code=2)
    assert err == f"error: date {day} is out of range (1900-01-01 to 2999-12-31)\n"


@pytest.mark.parametrize("flags", [("--csv", "--json"), ("--json", "--atom"), ("--csv", "--json", "--atom")])
def test_two_output_formats_are_an_error(desk, flags):
    _, err = invoke(desk, "search", "x", *flags, code=2)
    given = " and ".join(f for f in ("--csv", "--json", "--atom") if f in flags)
    assert err == f"error: choose one output format: {given} given\n"


READ_ONLY = [["search", "x"], ["status"], ["rules", "test"], ["serve", "--port", "1"]]
READ_ONLY += [cmd for cmd in (["calendar"], ["sources", "test"]) if cmd[0] in cli.commands]


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_create_nothing_and_say_the_database_is_missing(desk, tmp_path, command):
    missing = tmp_path / "nowhere" / "watcher.db"
    result = CliRunner().invoke(cli, ["--db", str(missing), "--sources", desk["sources"], "--rules", desk["rules"],
                                      *command])
    if command[:2] == ["sources", "test"]:  # fetches, never opens the database
        assert not missing.parent.exists()
        return
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: no database at {missing} (run `watcher once` first, or pass --db FILE)\n"
    assert not missing.parent.exists() and list(tmp_path.iterdir()) == []


def test_missing_default_database_is_not_created(desk, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WATCHER_DB", raising=False)
    result = CliRunner().invoke(cli, ["search", "특구"])
    assert result.exit_code == 2
    assert result.stderr == "error: no database at db/watcher.db (run `watcher once` first, or pass --db FILE)\n"
    assert not (tmp_path / "db").exists()


# ---- what search prints ----------------------------------------------------------------------------

def test_limit_says_how_many_of_how_many_are_shown(desk):
    out, _ = invoke(desk, "search", "의료기기", "--limit", "5")
    assert out.splitlines()[-1] == f"5 of {N} shown (--limit 5)"
    out, _ = invoke(desk, "search", "의료기기", "--limit", "500")
    assert out.splitlines()[-1] == f"{N} found"


def test_sort_deadline_lists_the_closest_open_call_first(desk):
    rows = json.loads(invoke(desk, "search", "--sort", "deadline", "--open", "--dated", "--json", "--limit", "200")[0])
    dues = [r["deadline"] for r in rows]
    assert len(rows) == 60 and dues == sorted(dues) and dues[0] >= TODAY.isoformat()
    assert dues[0] == min(d for i in range(N) if (d := deadline(i, TODAY)) and d >= TODAY).isoformat()


def test_open_keeps_calls_without_a_deadline(desk):
    rows = json.loads(invoke(desk, "search", "--open", "--json", "--limit", "200")[0])
    assert len(rows) == 90 and sum(r["deadline"] is None for r in rows) == 30


def test_agency_filter(desk):
    rows = json.loads(invoke(desk, "search", "--agency", "보건복지부", "--json", "--limit", "200")[0])
    assert [r["id"] for r in rows] == [f"a{i:03d}" for i in range(N) if agency(i) == "보건복지부"]


def test_columns_align_by_display_width(desk):
    out, _ = invoke(desk, "search", "의료기기", "--limit", "6")
    lines = out.splitlines()[:-1:2]  # the first line of each row
    starts = {display_width(line[: line.index("2026년")]) for line in lines}
    assert len(starts) == 1, lines  # the title starts in the same column after 보건복지부, 산업통상자원부, -
    assert any("산업통상자원부" in line for line in lines) and any("  -  " in line for line in lines)


def test_csv_has_a_bom_and_the_desk_columns(desk, tmp_path):
    korean = CliRunner().invoke(cli, ["--db", desk["db"], "search", "의료기기", "--csv", "--limit", "200"])
    assert korean.stdout_bytes.startswith(b"\xef\xbb\xbf" + "게시일,마감일,D-day,제목,기관,출처,규칙,링크\r\n".encode())
    result = CliRunner().invoke(cli, ["--db", desk["db"], "search", "의료기기", "--csv", "--csv-lang", "en",
                                      "--limit", "200"])
    data = result.stdout_bytes
    assert data.startswith(b"\xef\xbb\xbfpublished,deadline,D-day,title,agency,source name,rules,link\r\n")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == N and rows[0]["title"] == title(0) and rows[0]["source name"] == "NTIS 국가R&D 사업공고"
    assert rows[1]["D-day"] == "D-1"


def test_csv_cut_by_limit_says_so_on_stderr(desk):
    out, err = invoke(desk, "search", "의료기기", "--csv", "--limit", "3")
    assert len(out.splitlines()) == 4 and err == f"3 of {N} shown (--limit 3)\n"


def test_atom_is_a_feed(desk):
    feed = feedparser.parse(invoke(desk, "search", "의료기기", "--atom", "--limit", "200")[0].encode())
    assert not feed.bozo and len(feed.entries) == N and feed.entries[0].title == title(0)


# ---- the shell around it ---------------------------------------------------------------------------

def _watcher(*args: str, stdout: int | None = subprocess.PIPE, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from watcher.cli import main; main()", *args], cwd=REPO,
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_a_closed_pipe_ends_quietly(desk):
    read, write = os.pipe()
    os.close(read)  # like `| head -1` that has already gone
    try:
        done = _watcher("--db", desk["db"], "search", "의료기기", stdout=write)
    finally:
        os.close(write)
    assert done.stderr == "" and done.returncode == 1  # click's answer to EPIPE: quiet, exit 1


def test_verbose_after_the_command_logs_in_korea_time(desk):
    done = _watcher("--db", desk["db"], "search", "의료기기", "--limit", "1", "-v", env={"TZ": "UTC"})
    assert done.returncode == 0, done.stderr
    line = done.stderr.splitlines()[0]
    stamp, level = re.match(r"(\S+ \S+) (\w+) ", line).groups()
    moment = datetime.fromisoformat(stamp)
    assert stamp.endswith("+09:00") and level == "INFO" and f"search '의료기기' in {desk['db']}: {N} found" in line
    assert abs(moment - datetime.now(KST)) < timedelta(minutes=1)


@pytest.mark.parametrize("args", [["-v", "status"], ["status", "-v"], ["rules", "-v", "test"],
                                  ["rules", "test", "-v"], ["search", "x", "-v"]])
def test_verbose_is_accepted_anywhere(desk, args):
    invoke(desk, *args)


def test_top_level_help_shows_each_command_in_full():
    text = " ".join(CliRunner().invoke(cli, ["--help"]).output.split())
    for name, cmd in cli.commands.items():
        first = " ".join((cmd.help or "").split("\n\n")[0].split())
        sentence = first.split(". ")[0].rstrip(".")
        assert f"{name} {sentence}" in text, name
    assert "..." not in text.split("Commands:")[1]


@pytest.mark.parametrize("command", ["search", "serve", "status"])
def test_command_help_has_an_example(command):
    assert "Example: watcher " in CliRunner().invoke(cli, [command, "--help"]).output
