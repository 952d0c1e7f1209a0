"""A store of 120 matched announcements as the desk tests read it (web page, exports, browser, CLI).

Item i (0..119): source ntis for even i, bizinfo for odd i; agency 보건복지부 when i % 3 == 0,
else 산업통상자원부 (i % 3 == 1) or none; deadline: i % 4 == 0 none (상시 접수), 1 -> today + i days,
2 -> today - i days (closed), 3 -> today + (120 - i) days. Every title holds 의료기기 and every item
is matched by rule `medical` (labelled 의료기기 in RULES_YAML); published one hour apart, item 0 newest.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from watcher.models import Announcement, Hit, Source
from watcher.store import Store

N = 120
SOURCES_YAML = """\
sources:
  - id: ntis
    name: NTIS 국가R&D 사업공고
    url: https://www.ntis.go.kr/rndgate/unRndRss.xml
    interval: 10m
  - id: bizinfo
    name: 기업마당
    url: https://www.bizinfo.go.kr/rss
    interval: 1h
  - id: kstartup
    name: K-Startup 창업지원
    url: https://www.k-startup.go.kr/rss
    enabled: false
  - id: seoul
    name: 서울시 고시공고
    url: https://www.seoul.go.kr/rss
"""
RULES_YAML = """\
defaults:
  channel: "#med"
rules:
  - name: medical
    label: 의료기기
    any: [의료기기]
"""
SOURCES = {"ntis": Source(id="ntis", url="https://www.ntis.go.kr/rndgate/unRndRss.xml", name="NTIS 국가R&D 사업공고"),
           "bizinfo": Source(id="bizinfo", url="https://www.bizinfo.go.kr/rss", name="기업마당")}


def agency(i: int) -> str | None:
    return ("보건복지부", "산업통상자원부", None)[i % 3]


def deadline(i: int, today: date) -> date | None:
    return (None, today + timedelta(days=i), today - timedelta(days=i), today + timedelta(days=N - i))[i % 4]


def title(i: int) -> str:
    return f"2026년 체외진단 의료기기 실증 지원사업 공고 제{i:03d}호"


def summary(i: int) -> str:
    return ("ㅇ 사업목적: 혁신 제품의 시장 진입을 돕기 위한 실증 지원. " * 3
            + f"ㅇ 지원대상: 의료기기 제조기업 및 연구기관 (공고 {i:03d}). ㅇ 접수방법: 온라인 접수.")


def fill_desk(path: Path, now: datetime, failing: bool = True) -> None:
    today = now.date()
    store = Store(path)
    for source_id, source in SOURCES.items():
        items = []
        for i in range(N):
            if (i % 2 == 0) != (source_id == "ntis"):
                continue
            due = deadline(i, today)
            published = (now - timedelta(hours=i + 1)).isoformat(timespec="seconds")
            ann = Announcement(source_id, f"a{i:03d}", title(i), f"https://example.go.kr/{source_id}/{i:03d}",
                               summary=summary(i), published=published,
                               deadline=due.isoformat() if due else None, agency=agency(i))
            items.append((ann, [Hit("medical", "#med", ("의료기기",))]))
        store.ingest(source, items, now, 30 * 86400)
        store.record_success(source, now - timedelta(minutes=5), None, None, None)
    if failing:
        store.record_failure(SOURCES["bizinfo"], now - timedelta(minutes=2), "fetch: HTTP 503 from www.bizinfo.go.kr",
                             None)
    store.close()


def write_config(folder: Path) -> tuple[Path, Path]:
    sources, rules = folder / "sources.yaml", folder / "rules.yaml"
    sources.write_text(SOURCES_YAML, encoding="utf-8")
    rules.write_text(RULES_YAML, encoding="utf-8")
    return sources, rules
