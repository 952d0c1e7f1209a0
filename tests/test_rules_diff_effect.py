"""`rules test --diff` says which of its lines the next `once` applies: only announcements published
within max_age are matched again; the others are marked preview only, and `once` leaves them as shown."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from tests.test_cli_rules import RULES, files
from watcher.cli import cli
from watcher.config.load import load_rules
from watcher.match.matcher import Matcher
from watcher.models import Announcement, Source
from watcher.store import Store

EDIT = RULES.replace("none: [채용]", "none: [인허가]")


def store_recent_and_old(tmp_path) -> None:
    store = Store(tmp_path / "w.db")
    now = datetime.now(ZoneInfo("Asia/Seoul")).replace(microsecond=0)
    recent, old = (now - timedelta(days=2)).isoformat(), (now - timedelta(days=60)).isoformat()
    anns = [Announcement("tp", "2", "의료기기 인허가 지원", "http://x/2", published=recent),
            Announcement("tp", "3", "의료기기 연구원 채용", "http://x/3", published=recent),
            Announcement("tp", "4", "의료기기 인허가 교육", "http://x/4", published=old),
            Announcement("tp", "5", "의료기기 연구원 채용 공고", "http://x/5", published=old)]
    matcher = Matcher(load_rules(tmp_path / "r.yaml"))  # stored with the matches of the rules in force
    store.ingest(Source(id="tp", url="http://x"), [(a, matcher.match(a)) for a in anns], now, 14 * 86400)
    store.close()


def rule_titles(opts: list[str]) -> set[str]:
    result = CliRunner().invoke(cli, [*opts, "search", "의료기기", "--rule", "devices", "--json"])
    assert result.exit_code == 0, result.output
    return {row["title"] for row in json.loads(result.output)}


def test_diff_marks_what_once_applies_and_once_does_exactly_that(tmp_path):
    opts = files(tmp_path)
    store_recent_and_old(tmp_path)
    assert CliRunner().invoke(cli, [*opts, "once"]).exit_code == 0  # records the rules in force
    before = rule_titles(opts)
    assert before == {"의료기기 인허가 지원", "의료기기 인허가 교육"}
    (tmp_path / "r.yaml").write_text(EDIT, encoding="utf-8")

    rows = json.loads(CliRunner().invoke(cli, [*opts, "rules", "test", "--diff", "--json"]).output)
    effect = {(r["change"], r["title"]): r["applies"] for r in rows}
    assert effect == {("added", "의료기기 연구원 채용"): True, ("dropped", "의료기기 인허가 지원"): True,
                      ("added", "의료기기 연구원 채용 공고"): False, ("dropped", "의료기기 인허가 교육"): False}
    text = CliRunner().invoke(cli, [*opts, "rules", "test", "--diff"]).output
    assert "의료기기 인허가 교육  ()  [preview only: older than max_age 14d]" in text.replace("(의료기기 (제목))", "()")
    assert "4 changes: 2 take effect at the next `once` or poll of `run`" in text
    assert "2 preview only" in text

    assert CliRunner().invoke(cli, [*opts, "once"]).exit_code == 0
    after = rule_titles(opts)
    applied = {t for (change, t), applies in effect.items() if applies and change == "added"}
    removed = {t for (change, t), applies in effect.items() if applies and change == "dropped"}
    assert after == (before | applied) - removed  # exactly the lines marked as taking effect
    assert "의료기기 인허가 교육" in after and "의료기기 연구원 채용 공고" not in after  # preview only: unchanged
