"""`watcher check` on YAML's traps: a `#channel` unquoted is a comment, syntax errors in plain words."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
from click.testing import CliRunner

from watcher.cli import cli
from watcher.config.load import check

SOURCES = "sources:\n  - id: ntis\n    url: https://www.ntis.go.kr/rss.xml\n"


def run_check(tmp_path: Path, rules: str, sources: str = SOURCES) -> tuple[int, list[str]]:
    s, r = tmp_path / "sources.yaml", tmp_path / "rules.yaml"
    s.write_text(dedent(sources), encoding="utf-8")
    r.write_text(dedent(rules), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--sources", str(s), "--rules", str(r), "check"])
    lines = (result.stdout + result.stderr).replace(str(r), "rules.yaml").replace(str(s), "sources.yaml")
    return result.exit_code, lines.splitlines()


def test_unquoted_channel_of_a_rule_is_an_error_with_the_line_and_a_hint(tmp_path: Path) -> None:
    code, lines = run_check(tmp_path, """\
        defaults:
          channel: "#gongmo"
        rules:
          - name: dx
            any: [스마트공장]
            channel: #tp-dx
        """)
    assert code == 2
    assert lines == ["rules.yaml:6: 'channel' is empty: an unquoted #tp-dx after 'channel:' is a YAML comment; "
                     "quote it: channel: \"#tp-dx\""]


def test_unquoted_ops_channel_is_an_error(tmp_path: Path) -> None:
    code, lines = run_check(tmp_path, """\
        defaults:
          ops_channel: #gongmo-ops   # the watcher's own alerts
        rules:
          - name: dx
            any: [스마트공장]
        """)
    assert code == 2 and lines == ["rules.yaml:2: 'ops_channel' is empty: an unquoted #gongmo-ops after "
                                   "'ops_channel:' is a YAML comment; quote it: ops_channel: \"#gongmo-ops\""]


def test_a_comment_meant_as_one_and_quoted_channels_pass(tmp_path: Path) -> None:
    code, lines = run_check(tmp_path, """\
        defaults:
          channel: "#gongmo"    # quoted: fine
          ops_channel: '#ops'
          fields:   # a real comment after an empty key: a space after '#'
        rules:
          - name: dx   #no space here but a value before it
            any: [스마트공장]
            channel: "#tp-dx"
        """)
    assert code == 0, lines


def test_unquoted_hash_in_sources_yaml_too(tmp_path: Path) -> None:
    s, r = tmp_path / "s.yaml", tmp_path / "r.yaml"
    s.write_text("sources:\n  - id: a\n    url: https://x.example/\n    name: #board\n", encoding="utf-8")
    r.write_text("rules:\n  - name: a\n    any: [x]\n", encoding="utf-8")
    _, problems, _ = check(s, r, {})
    assert problems == [f"{s}:4: 'name' is empty: an unquoted #board after 'name:' is a YAML comment; "
                        "quote it: name: \"#board\""]


@pytest.mark.parametrize("rules, line, words", [
    ("rules:\n  - name: a\n   any: [x]\n", 3, "this line is indented differently from the lines above it "
     "(line 2 starts the part it belongs to): indent it like its neighbours, with spaces"),
    ("rules:\n  - name: a\n    any: [x]\n  channel: '#a'\n", 4, "this key is indented less than the keys above it"),
    ("rules:\n  - name: a\n    any: [x\n", 3, "a '[' list opened here is never closed with ']'"),
    ("rules:\n  - name: \"a\n    any: [x]\n", 2, "a quote opened here is never closed"),
    ("rules:\n\t- name: a\n", 2, "a tab character: YAML indents with spaces only"),
    ("rules:\n  - name: a: b\n    any: [x]\n", 2, "a second ': ' on this line: a value that contains ': ' must be "
     "quoted"),
    ("rules:\n  - name: a\n    any: [x]\n  - @x\n", 4, "a value cannot start with '@' unquoted"),
])
def test_yaml_syntax_errors_in_plain_words_with_the_line(tmp_path: Path, rules: str, line: int, words: str) -> None:
    code, lines = run_check(tmp_path, rules)
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith(f"rules.yaml:{line}: {words}"), lines
    for jargon in ("<block", "token", "scalar", "stream", "flow sequence"):
        assert jargon not in lines[0]
