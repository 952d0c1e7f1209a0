"""`watcher search` as users read it: table with D-day, --open, --csv, --json, hostile input."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from watcher.cli import cli
from watcher.models import Announcement, Hit, Source
from watcher.pipeline.cycle import now_kst
from watcher.store import Store


@pytest.fixture()
def db(tmp_path):
    path = tmp_path / "w.db"
    now = now_kst()
    today = now.date()
    store = Store(path)
    anns = [
        ("1", "강소특구 기술사업화 지원 공고", today + timedelta(days=7), now - timedelta(days=1)),
        ("2", "강소특구 특화기업 모집 (마감)", today - timedelta(days=3), now - timedelta(days=2)),
        ("3", "의료기기 인허가 지원", None, now - timedelta(days=3)),
    ]
    items = [(Announcement("tp", i, title, f"http://x/{i}", published=pub.isoformat(timespec="seconds"),
                           deadline=dl.isoformat() if dl else None),
              [Hit("gangso", "#t", ("강소특구",))] if "특구" in title else [])
             for i, title, dl, pub in anns]
    store.ingest(Source(id="tp", url="http://x"), items, now, 14 * 86400)
    return str(path)


def run(db: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", db, "search", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_table_shows_deadline_with_d_day_newest_first(db):
    out = run(db, "특구")
    assert out.index("기술사업화") < out.index("특화기업")
    assert "D-7" in out and "closed" in out and "[gangso]" in out


def test_open_keeps_only_deadlines_ahead(db):
    out = run(db, "특구", "--open")
    assert "기술사업화" in out and "특화기업" not in out


def test_csv_has_a_header_and_one_row_per_hit(db):
    rows = list(csv.DictReader(io.StringIO(run(db, "특구", "--csv", "--csv-lang", "en"))))
    assert [r["title"] for r in rows] == ["강소특구 기술사업화 지원 공고", "강소특구 특화기업 모집 (마감)"]
    assert rows[0]["rules"] == "gangso" and rows[0]["link"] == "http://x/1"


def test_json_and_rule_filter(db):
    rows = json.loads(run(db, "", "--rule", "gangso", "--json"))
    assert {r["id"] for r in rows} == {"1", "2"} and all(r["rules"] == ["gangso"] for r in rows)


@pytest.mark.parametrize("query", ['"', "AND", "NEAR(", "*", "-", "'; DROP TABLE announcements; --", "특구 OR"])
def test_hostile_queries_never_fail(db, query):
    json.loads(run(db, query, "--json"))


def test_no_hits_exits_0_with_a_message(db):
    assert "no announcements found" in run(db, "존재하지않는단어")


def test_since_until_bound_published_days(db):
    day = (now_kst() - timedelta(days=2)).date().isoformat()
    rows = json.loads(run(db, "", "--since", day, "--until", day, "--json"))
    assert [r["id"] for r in rows] == ["2"]


