"""Source health: field coverage of a poll, degraded / stale / failing states, status rows, ops alerts."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.shared import real_capture
from watcher import health
from watcher.health import PollHealth, doubled, poll_health, source_rows
from watcher.models import Announcement, Config, RuleSet, Source
from watcher.parse import parse
from watcher.store import KST, Store

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=KST)
DAY = 86_400.0
BTP_URL = "https://www.btp.or.kr/kor/CMS/Board/Board.do?mCode=MN013"
BTP_TEMPLATE = Source(id="btp", url=BTP_URL, name="부산테크노파크 사업공고", kind="html", items="table tbody tr",
                      fields={"title": "td.subject a", "link": "td.subject a@href", "published": "td.regdate"})
BTP_RIGHT = replace(BTP_TEMPLATE, items="table.bdListTbl tbody tr",
                    fields={"title": "td.subject span.titleHover", "link": "td.subject a@href",
                            "published": "td.date", "period": "td.period"})


def btp_items(source: Source) -> list[Announcement]:
    return parse(source, real_capture("btp/bizsupport-btp_list.html").read_bytes(), "text/html", source.url)


def ann(i: int = 1, title: str = "2026년 강소특구 육성사업 공고", link: str | None = "https://x.kr/1",
        published: str | None = "2026-11-30T09:00:00+09:00", deadline: str | None = None) -> Announcement:
    return Announcement(source="s", id=str(i), title=title, link=link, published=published, deadline=deadline)


# ---- one poll --------------------------------------------------------------------------------------

def test_real_btp_board_with_the_tp_template_is_degraded_naming_field_and_selector():
    polled = poll_health(BTP_TEMPLATE, btp_items(BTP_TEMPLATE), NOW)
    messages = [p.english() for p in polled.problems]
    assert "published (td.regdate) matched nothing in 10 items" in messages
    doubled_message = "title (td.subject a) doubled in 10 of 10 items, e.g. '2025년 산업기술단지"
    assert any(m.startswith(doubled_message) for m in messages)
    assert polled.items == 10 and polled.coverage["link"] == 10 and polled.coverage["published"] == 0


def test_real_btp_board_with_right_selectors_is_whole():
    items = btp_items(BTP_RIGHT)
    polled = poll_health(BTP_RIGHT, items, NOW, max_age=14 * DAY)
    assert polled.problems == []
    assert {f: polled.share(f) for f in polled.coverage} == {"title": 1.0, "link": 1.0, "published": 1.0,
                                                             "deadline": 1.0}
    assert items[0].title == "2025년 산업기술단지 거점기능강화사업 「현장애로지원 기술닥터제 수요기업」 모집 공고"
    assert polled.warnings == ["all 10 dated items are older than max_age (14d), newest 2025-04-23: "
                               "none would be alerted"]


@pytest.mark.parametrize(("title", "twice"), [
    ("AB AB", True),
    ("2025년 기술닥터 모집 공고 2025년 기술닥터 모집 공고", True),
    ("기술닥터공고기술닥터공고", True),
    ("2025년 기술닥터 모집 공고", False),
    ("공고 공고", True),
    ("A A", False),  # too short to tell
    ("1차 2차 1차 3차", False),
    # a full title for hovering, then the list's shortened one
    ("「2025년 위기대응 체계 구축사업」 Stand-up 모집 공고(상반기) "
     "「2025년 위기대응 체계 구축사업」 Stand-up...", True),
    ("수요기업 모집 공고 수요...", False),  # the second part is too short to be a copy
    ("사업 공고 사업 공고…", True),  # shortened with an ellipsis character
    ("사업 공고 사업 공고 …", True),
    ("사업 공고 사업 공고 안내", False),  # neither halves nor a shortened copy
    ("", False),
])
def test_doubled_titles(title, twice):
    assert doubled(title) is twice


def test_links_missing_on_most_items_degrade_on_a_few_only_warn():
    src = Source(id="s", url="https://x.kr/", kind="html", items="tr", fields={"title": "a", "link": "a@href"})
    most = [ann(i, link=None) for i in range(8)] + [ann(9), ann(10)]
    assert [p.english() for p in poll_health(src, most, NOW).problems] == ["link (a@href) missing in 8 of 10 items"]
    few = [ann(1, link=None)] + [ann(i) for i in range(2, 11)]
    polled = poll_health(src, few, NOW)
    assert polled.problems == [] and polled.warnings == ["no link in 1 of 10 items"]


def test_unmapped_fields_are_counted_but_never_degrade():
    feed = Source(id="s", url="https://x.kr/rss")
    polled = poll_health(feed, [ann(i, published=None) for i in range(3)], NOW)
    assert polled.problems == [] and polled.share("published") == 0.0 and polled.share("deadline") == 0.0
    mapped = replace(feed, fields={"deadline": "appdue", "agency": "category"})
    messages = [p.english() for p in poll_health(mapped, [ann(i) for i in range(3)], NOW).problems]
    assert messages == ["deadline (appdue) matched nothing in 3 items", "agency (category) matched nothing in 3 items"]


def test_future_dates_are_a_warning():
    polled = poll_health(Source(id="s", url="https://x.kr/"), [ann(1, published="2027-03-01T09:00:00+09:00"), ann(2)],
                         NOW)
    assert polled.warnings == ["1 of 2 items dated in the future (e.g. 2027-03-01)"]


def test_poll_health_round_trips_through_json():
    polled = poll_health(BTP_TEMPLATE, [ann(1, title="AB AB", published=None)], NOW)
    again = PollHealth.from_json(polled.to_json())
    assert again == polled and again.degraded


# ---- states ----------------------------------------------------------------------------------------

def row(**kw):
    base = {"id": "s", "last_poll": "2026-12-01T09:00:00+09:00", "last_success": "2026-12-01T09:00:00+09:00",
            "first_polled": "2026-11-01T09:00:00+09:00", "last_new": "2026-11-30T09:00:00+09:00", "failures": 0,
            "failing_since": None, "last_error": None, "health": None, "items": 3}
    return {**base, **kw}


SRC = Source(id="s", url="https://x.kr/rss", name="소스", interval=600)


@pytest.mark.parametrize(("source", "stored", "expected"), [
    (replace(SRC, enabled=False), row(), ("disabled", "enabled: false in sources.yaml")),
    (replace(SRC, enabled=False, env_missing=("DATA_GO_KR_KEY",)), None,
     ("disabled", "disabled until DATA_GO_KR_KEY is set")),
    (SRC, None, ("never polled", "not polled yet")),
    (SRC, row(last_poll=None), ("never polled", "not polled yet")),
    (SRC, row(failures=3, failing_since="2026-12-01T07:00:00+09:00", last_error="fetch: HTTP 503"),
     ("failing", "3 failures since 2026-12-01T07:00: fetch: HTTP 503")),
    (SRC, row(health=poll_health(BTP_TEMPLATE, [ann(1, published=None)], NOW).to_json()),
     ("degraded", "published (td.regdate) matched nothing in 1 items")),
    (SRC, row(last_new="2026-11-01T09:59:59+09:00"), ("stale", "no new item since 2026-11-01 (stale_after 30d)")),
    (SRC, row(last_new="2026-11-01T10:00:01+09:00"), ("ok", "")),
    (SRC, row(last_new=None, first_polled="2026-10-01T09:00:00+09:00"),
     ("stale", "no item since the first poll on 2026-10-01 (stale_after 30d)")),
    (replace(SRC, stale_after=2 * DAY), row(), ("ok", "")),
    (replace(SRC, stale_after=DAY / 2), row(), ("stale", "no new item since 2026-11-30 (stale_after 12h)")),
])
def test_state_of_a_source(source, stored, expected):
    assert health.state(source, stored, NOW) == expected


def test_next_poll_follows_interval_backoff_and_retry_after():
    assert health.next_poll(SRC, row()) == "2026-12-01T09:10:00+09:00"
    assert health.next_poll(SRC, row(failures=3)) == "2026-12-01T09:40:00+09:00"
    assert health.next_poll(SRC, row(next_poll_after="2026-12-01T11:00:00+09:00")) == "2026-12-01T11:00:00+09:00"
    assert health.next_poll(SRC, None) is None and health.next_poll(replace(SRC, enabled=False), row()) is None


# ---- status rows and ops alerts, on a real store ---------------------------------------------------

@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "w.db")


def poll(store: Store, source: Source, items: list[Announcement], when: datetime) -> list[str]:
    """What Cycle._record does after a successful poll, without the network."""
    items = [replace(a, source=source.id) for a in items]
    result = store.ingest(source, [(a, []) for a in items], when, 14 * DAY)
    store.record_success(source, when, None, None, None)
    store.record_health(source, when, poll_health(source, items, when), result.new)
    return store.health_alerts(source, when, "#ops")


def ops_texts(store: Store) -> list[str]:
    return [r[0] for r in store.db.execute("SELECT text FROM alerts WHERE kind = 'ops' ORDER BY id")]


def test_source_rows_cover_every_configured_source_in_order(store):
    disabled = Source(id="bizinfo", url="https://x.kr/api", kind="json", enabled=False, env_missing=("KEY",))
    fresh = Source(id="fresh", url="https://x.kr/new")
    gone = Source(id="gone", url="https://x.kr/gone")
    poll(store, gone, [ann()], NOW)
    poll(store, BTP_TEMPLATE, [ann(1, title="AB AB", published=None)], NOW)
    config = Config(sources=(BTP_TEMPLATE, disabled, fresh), rules=RuleSet())
    rows = source_rows(config, store, NOW)
    assert [(r["id"], r["state"]) for r in rows] == [("btp", "degraded"), ("bizinfo", "disabled"),
                                                    ("fresh", "never polled")]
    btp = rows[0]
    assert set(btp) >= {"id", "name", "state", "reason", "last_success", "last_error", "failures", "items",
                        "last_new", "next_poll"}
    assert btp["items"] == 1 and btp["last_new"] == btp["last_success"] == "2026-12-01T10:00:00+09:00"
    assert btp["coverage"] == {"title": 1.0, "link": 1.0, "published": 0.0, "deadline": 0.0}
    assert btp["reason"].startswith("published (td.regdate) matched nothing in 1 items; title (td.subject a) doubled")
    assert rows[1]["reason"] == "disabled until KEY is set" and rows[1]["next_poll"] is None


def test_degraded_alerts_once_after_alert_after_and_once_on_recovery(store):
    source = replace(BTP_TEMPLATE, alert_after=3600)
    broken = [ann(i, published=None, link=f"https://x.kr/{i}") for i in range(3)]
    assert poll(store, source, broken, NOW) == []  # degraded, but not for an hour yet
    assert poll(store, source, broken, NOW + timedelta(minutes=59)) == []
    texts = poll(store, source, broken, NOW + timedelta(minutes=61))
    assert texts == ["소스 '부산테크노파크 사업공고' (btp): 2026-12-01 10:00 KST부터 항목 필드가 비어 있습니다 — "
                     "published (td.regdate): 항목 3개 모두 값이 없음. 항목은 계속 저장됩니다. "
                     "선택자를 확인하세요 (`watcher sources test btp`)."]
    assert poll(store, source, broken, NOW + timedelta(hours=5)) == []
    assert poll(store, source, [ann(i, link=f"https://x.kr/{i}") for i in range(3)],
                NOW + timedelta(hours=6)) == ["소스 '부산테크노파크 사업공고' (btp): 항목 필드가 다시 정상입니다."]
    assert len(ops_texts(store)) == 2 and store.db.execute("SELECT count(*) FROM announcements").fetchone()[0] == 3


def test_stale_alerts_once_until_a_new_item_comes(store):
    source = replace(SRC, stale_after=10 * DAY)
    assert poll(store, source, [ann(1)], NOW) == []
    assert poll(store, source, [ann(1)], NOW + timedelta(days=9)) == []
    texts = poll(store, source, [ann(1)], NOW + timedelta(days=10))
    assert texts == ["소스 '소스' (s): 2026-12-01 이후 10일 동안 새 공고가 없습니다 (stale_after 10d). "
                     "주소와 선택자를 확인하세요."]
    assert health.state(source, store.health_rows()["s"], NOW + timedelta(days=10))[0] == "stale"
    assert poll(store, source, [ann(1)], NOW + timedelta(days=11)) == []
    assert poll(store, source, [ann(1), ann(2, link="https://x.kr/2")], NOW + timedelta(days=12)) == []
    assert health.state(source, store.health_rows()["s"], NOW + timedelta(days=12))[0] == "ok"
    assert len(poll(store, source, [ann(2, link="https://x.kr/2")], NOW + timedelta(days=22))) == 1
    assert len(ops_texts(store)) == 2


def test_old_database_gets_last_new_from_its_announcements(tmp_path):
    import sqlite_utils

    from watcher.store import migrations

    db = sqlite_utils.Database(tmp_path / "old.db")
    migrations.apply(db, stop_before="0005_health")
    db.execute("INSERT INTO sources (id, last_poll) VALUES ('s', '2026-11-02T00:00:00+09:00')")
    db.execute("INSERT INTO announcements (source, id, key, title, first_seen, last_seen) VALUES "
               "('s', '1', 'k1', 't', '2026-10-01T00:00:00+09:00', '2026-11-02T00:00:00+09:00'), "
               "('s', '2', 'k2', 't', '2026-10-20T00:00:00+09:00', '2026-11-02T00:00:00+09:00')")
    db.conn.commit()
    db.close()
    assert Store(tmp_path / "old.db").health_rows()["s"]["last_new"] == "2026-10-20T00:00:00+09:00"


def test_status_text_has_a_row_per_configured_source_and_names_the_ones_no_longer_configured(tmp_path):
    from click.testing import CliRunner

    from watcher.cli import cli

    db = tmp_path / "w.db"
    store = Store(db)
    poll(store, Source(id="gone", url="https://x.kr/gone"), [ann()], NOW)
    poll(store, BTP_TEMPLATE, [ann(1, title="AB AB", published=None)], NOW)
    store.close()
    (tmp_path / "s.yaml").write_text(
        "sources:\n  - id: btp\n    kind: html\n    url: https://x.kr/b\n    items: tr\n"
        '    fields: {title: "td.subject a", link: "td.subject a@href", published: "td.regdate"}\n'
        "  - id: off\n    url: https://x.kr/off\n    enabled: false\n", encoding="utf-8")
    (tmp_path / "r.yaml").write_text("rules:\n  - name: r\n    any: [특구]\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--db", str(db), "--sources", str(tmp_path / "s.yaml"),
                                      "--rules", str(tmp_path / "r.yaml"), "status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split()[:2] == ["btp", "degraded"]
    assert "published (td.regdate) matched nothing in 1 items" in lines[1]
    assert lines[2].split()[:2] == ["off", "disabled"] and lines[2].endswith("enabled: false in sources.yaml")
    assert f"not in {tmp_path / 's.yaml'} any more: gone (1 items stored)" in lines
