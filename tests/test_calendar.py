"""`watcher calendar` and GET /calendar.ics: RFC 5545 parsed back with icalendar."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from watcher.cli import cli
from watcher.models import Announcement, Hit, Source
from watcher.pipeline.cycle import now_kst
from watcher.store import Store
from watcher.web import make_app

NTIS = Source(id="ntis", url="https://www.ntis.go.kr/rss", name="NTIS")
BIZINFO = Source(id="bizinfo", url="https://www.bizinfo.go.kr/rss", name="기업마당")
RULES = """\
rules:
  - name: ai
    any: [AI]
  - name: bio
    any: [바이오]
"""


def ann(source: Source, id: str, title: str, deadline: object) -> Announcement:  # noqa: A002
    link = f"https://{source.id}.example.kr/{id}"
    return Announcement(source=source.id, id=id, title=title, link=link, canonical=link, agency="과기정통부",
                        published=(now_kst() - timedelta(days=1)).isoformat(timespec="seconds"),
                        deadline=deadline.isoformat() if deadline else None)


def hit(rule: str) -> list[Hit]:
    return [Hit(rule=rule, channel="#gongmo", keywords=("x",))]


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    today = now_kst().date()
    store = Store(tmp_path / "w.db")
    now = now_kst()
    store.ingest(NTIS, [
        (ann(NTIS, "1", "2026년 AI 바우처 지원사업 공고", today + timedelta(days=9)), hit("ai")),
        (ann(NTIS, "2", "2026년 바이오 실증 공고", today - timedelta(days=2)), hit("bio")),  # closed
        (ann(NTIS, "3", "AI 상시 모집", None), hit("ai")),  # no deadline: no event
        (ann(NTIS, "4", "2026년 AI 교육 공고", today + timedelta(days=3)), []),  # matched by no rule
    ], now, 14 * 86_400.0)
    store.ingest(BIZINFO, [(ann(BIZINFO, "b1", "[경기] 2026년 AI 바우처 지원사업 공고", today + timedelta(days=9)),
                            hit("ai"))], now, 14 * 86_400.0)  # the same call on another portal
    store.close()
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    return tmp_path


def calendar(folder: Path, *args: str) -> Calendar:
    result = CliRunner().invoke(cli, ["--db", str(folder / "w.db"), "--rules", str(folder / "rules.yaml"),
                                      "calendar", *args])
    assert result.exit_code == 0, result.output
    return Calendar.from_ical(result.stdout_bytes)


def events(cal: Calendar) -> dict[str, tuple[str, str, str]]:
    return {str(e["uid"]): (str(e["summary"]), e.decoded("dtstart").isoformat(), str(e["url"]))
            for e in cal.walk("VEVENT")}


def test_one_all_day_event_per_matched_call_with_a_deadline(folder: Path) -> None:
    today = now_kst().date()
    found = sorted(events(calendar(folder)).values())
    assert found == [
        ("2026년 AI 바우처 지원사업 공고", (today + timedelta(days=9)).isoformat(), "https://ntis.example.kr/1"),
        ("2026년 바이오 실증 공고", (today - timedelta(days=2)).isoformat(), "https://ntis.example.kr/2"),
    ]
    for event in calendar(folder).walk("VEVENT"):
        assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(days=1)  # all day
        assert str(event["url"]) in str(event["description"])


def test_rule_and_open_filter(folder: Path) -> None:
    assert [s for s, _, _ in events(calendar(folder, "--rule", "bio")).values()] == ["2026년 바이오 실증 공고"]
    assert [s for s, _, _ in events(calendar(folder, "--open")).values()] == ["2026년 AI 바우처 지원사업 공고"]


def test_uids_are_stable_when_a_deadline_moves(folder: Path) -> None:
    before = events(calendar(folder))
    store = Store(folder / "w.db")
    later = now_kst().date() + timedelta(days=20)
    store.ingest(NTIS, [(ann(NTIS, "1", "2026년 AI 바우처 지원사업 공고", later), hit("ai"))], now_kst(), 14 * 86_400.0)
    store.close()
    after = events(calendar(folder))
    assert set(after) == set(before)
    assert sorted(d for _, d, _ in after.values())[-1] == later.isoformat()


def test_unknown_rule_and_missing_database_are_one_line(folder: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(folder / "w.db"), "--rules", str(folder / "rules.yaml"),
                                      "calendar", "--rule", "nope"])
    assert result.exit_code == 2 and "unknown rule 'nope' (known: ai, bio)" in result.output
    missing = tmp_path / "none" / "w.db"
    result = CliRunner().invoke(cli, ["--db", str(missing), "calendar"])
    assert result.exit_code == 2 and result.output.strip().count("\n") == 0 and "no database" in result.output
    assert not missing.parent.exists()  # read-only: nothing created


def test_web_serves_the_same_calendar(folder: Path) -> None:
    app = make_app(folder / "w.db")
    seen: list[str] = []
    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/calendar.ics", "QUERY_STRING": "rule=ai"},
                        lambda status, headers: seen.extend([status, dict(headers)["Content-Type"]])))
    assert seen == ["200 OK", "text/calendar; charset=utf-8"]
    assert [s for s, _, _ in events(Calendar.from_ical(body)).values()] == ["2026년 AI 바우처 지원사업 공고"]
