"""Search latency at scale: Store.search (FTS5, our bigram tokens) vs a LIKE '%q%' scan.

    .venv/bin/python bench/bench_search.py [--rows 1000000] [--db bench/out/bench.db] [--reps 20]

Fills the database through Store.ingest (1,000 items a call, realistic Korean titles and summaries,
20 sources, ~5% of rows matched by a rule, three years of dates), unless it already holds --rows rows,
then reports median and p95 latency per query kind for both ways, and their ratio.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watcher.models import Announcement, Hit, Source  # noqa: E402
from watcher.store import KST, Store  # noqa: E402

REGIONS = "서울 부산 대구 인천 광주 대전 울산 세종 경기 강원 충북 충남 전북 전남 경북 경남 제주 창원 포항 오송".split()
FIELDS = [
    "디지털 헬스케어", "의료기기", "바이오헬스", "인공지능(AI)", "AI 반도체", "이차전지", "수소", "탄소중립",
    "스마트팜", "스마트공장", "메타버스", "빅데이터", "로봇", "드론", "자율주행", "소재·부품·장비", "문화콘텐츠",
    "관광", "수산", "농식품", "에너지", "우주항공", "양자", "미래차", "반도체", "디스플레이", "XR", "블록체인",
    "사이버보안", "디지털헬스케어",
]
PROGRAMS = [
    "기술사업화 지원사업", "R&D 과제", "실증 지원사업", "창업 지원사업", "글로벌 진출 지원사업", "인력양성 사업",
    "시제품 제작 지원", "사업화 바우처", "기업 육성사업", "네트워킹 프로그램", "수출 바우처", "컨설팅 지원",
    "공동연구 과제", "테스트베드 지원",
]
KINDS = [
    "공모", "모집 공고", "참여기업 모집", "신규과제 공고", "재공고", "수정공고", "선정결과 안내", "설명회 개최 안내",
]
SPECIAL = ["강소연구개발특구", "연구개발특구", "규제자유특구", "강소특구", "바이오 특구"]
AGENCIES = [
    "정보통신산업진흥원", "한국산업기술진흥원", "중소벤처기업부", "과학기술정보통신부", "연구개발특구진흥재단",
    "한국보건산업진흥원", "경기테크노파크", "부산테크노파크", "창업진흥원", "한국콘텐츠진흥원",
]
SOURCES = [f"src{i:02d}" for i in range(20)]
RULES = ["medical-devices", "special-zones", "ai-chips", "digital-health"]


def make_item(rng: random.Random, n: int, start: datetime, span_days: int) -> tuple[Announcement, list[Hit]]:
    region, field, program, kind = rng.choice(REGIONS), rng.choice(FIELDS), rng.choice(PROGRAMS), rng.choice(KINDS)
    agency = rng.choice(AGENCIES)
    special = f"{rng.choice(SPECIAL)} " if rng.random() < 0.04 else ""
    year = 2024 + n % 3
    title = f"[{agency}] {year}년 {region} {special}{field} {program} {kind}"
    published = start + timedelta(seconds=rng.randrange(span_days * 86400))
    summary = (
        f"{agency}에서는 {region} 지역 {field} 분야 기업의 경쟁력 강화를 위하여 {program}을 다음과 같이 "
        f"공고하오니 많은 참여 바랍니다. 지원규모: 총 {rng.randint(2, 40)}개 과제, 과제당 최대 "
        f"{rng.randint(1, 50) * 10}백만원. 접수기간: {published:%Y.%m.%d} ~ {published + timedelta(days=30):%Y.%m.%d}"
    )
    link = f"https://example.go.kr/board/view?id={n}"
    ann = Announcement(
        source=SOURCES[n % len(SOURCES)], id=str(n), title=title, link=link, summary=summary,
        published=published.isoformat(timespec="seconds"), deadline=(published + timedelta(days=30)).date().isoformat(),
        agency=agency, canonical=link,
    )
    hits = [Hit(rng.choice(RULES), "#bench", ("의료기기",))] if rng.random() < 0.05 else []
    return ann, hits


def fill(store: Store, rows: int, now: datetime) -> float:
    rng = random.Random(42)
    start, span = now - timedelta(days=3 * 365), 3 * 365
    have = store.db.execute("SELECT count(*) FROM announcements").fetchone()[0]
    began = time.perf_counter()
    batch: dict[str, list] = {}
    for n in range(have, rows):
        ann, hits = make_item(rng, n, start, span)
        batch.setdefault(ann.source, []).append((ann, hits))
        if len(batch[ann.source]) >= 1000 or n == rows - 1:
            for source_id, items in batch.items():
                store.ingest(Source(id=source_id, url="https://example.go.kr"), items, now, 0)
            batch = {}
        if n % 100_000 == 0 and n > have:
            print(f"  {n:,} rows, {time.perf_counter() - began:.0f}s", flush=True)
    return time.perf_counter() - began


def naive(store: Store, query: str, source: str | None = None, since: str | None = None,
          until: str | None = None, open_today: str | None = None, limit: int = 50) -> list:
    """The baseline: every word as LIKE '%word%' over title and summary, newest first."""
    sql, params = "SELECT source, id FROM announcements WHERE 1", []
    for word in query.replace('"', " ").split():
        negate = "NOT " if word.startswith("-") else ""
        sql += f" AND {negate}(title LIKE ? OR summary LIKE ?)"
        params += [f"%{word.lstrip('-')}%"] * 2
    if source:
        sql += " AND source = ?"
        params.append(source)
    if since:
        sql += " AND coalesce(published, first_seen) >= ?"
        params.append(since)
    if until:
        sql += " AND coalesce(published, first_seen) < ?"
        params.append(until + "T24")
    if open_today:
        sql += " AND deadline >= ?"
        params.append(open_today)
    sql += " ORDER BY coalesce(published, first_seen) DESC LIMIT ?"
    return store.db.execute(sql, [*params, limit]).fetchall()


def timed(fn: Callable[[], object], reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        began = time.perf_counter()
        fn()
        out.append((time.perf_counter() - began) * 1000)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--db", default="bench/out/bench.db")
    ap.add_argument("--reps", type=int, default=20, help="runs of each query (the baseline runs a quarter)")
    args = ap.parse_args()

    now = datetime(2026, 11, 20, 12, 0, tzinfo=KST)
    today = now.date().isoformat()
    since = (now - timedelta(days=30)).date().isoformat()
    store = Store(args.db)
    have = store.db.execute("SELECT count(*) FROM announcements").fetchone()[0]
    if have < args.rows:
        print(f"filling {args.db}: {have:,} -> {args.rows:,} rows through Store.ingest")
        took = fill(store, args.rows, now)
        print(f"filled in {took:.0f}s ({(args.rows - have) / took:,.0f} rows/s)")
    size = sum(p.stat().st_size for p in Path(args.db).parent.glob(Path(args.db).name + "*"))
    print(f"{have if have >= args.rows else args.rows:,} rows, database {size / 1e9:.2f} GB\n")

    cases: list[tuple[str, list[tuple[str, dict]]]] = [
        ("short (2 syllables)", [("특구", {}), ("의료", {}), ("수산", {}), ("양자", {})]),
        ("long (≥3 syllables)", [("디지털헬스케어", {}), ("의료기기", {}), ("강소연구개발특구", {}), ("이차전지", {})]),
        ("multi-word", [("디지털 헬스케어", {}), ("AI 반도체 실증", {}), ("제주 수소 재공고", {}),
                        ("우주항공 양자", {})]),
        ('phrase "…"', [('"디지털 헬스케어"', {}), ('"스마트 공장"', {}), ('"AI 반도체"', {}), ('"규제자유특구"', {})]),
        ("filtered", [("특구", {"source": "src03"}), ("의료기기", {"since": since}), ("반도체", {"open_only": True}),
                      ("수소", {"source": "src07", "since": since})]),
        ("1 syllable", [("수", {}), ("팜", {}), ("기", {}), ("업 특구", {})]),
        ("Latin / digits", [("AI", {}), ("R&D", {}), ("2026년", {}), ("AI기", {})]),
        ("worst cases", [("기 -기업", {}), ("양자", {"open_only": True, "today": "2030-01-01"}),
                         ("우주항공 양자", {}), ("특구", {"until": "2024-03-01", "open_only": True})]),
    ]
    print(f"{'query kind':<22}{'fts median':>11}{'fts p95':>9}{'LIKE median':>13}{'LIKE p95':>10}{'ratio':>8}")
    for label, queries in cases:
        fast: list[float] = []
        slow: list[float] = []
        for query, opts in queries:
            fast += timed(lambda q=query, o=opts: store.search(q, **{"today": today, **o}), args.reps)
            naive_opts = {"source": opts.get("source"), "since": opts.get("since"), "until": opts.get("until"),
                          "open_today": opts.get("today", today) if opts.get("open_only") else None}
            slow += timed(lambda q=query, o=naive_opts: naive(store, q, **o), max(2, args.reps // 4))
        fm, sm = statistics.median(fast), statistics.median(slow)
        print(f"{label:<22}{fm:>9.1f}ms{p95(fast):>7.1f}ms{sm:>11.1f}ms{p95(slow):>8.1f}ms{sm / fm:>7.0f}x")
    print("\nper query (fts median ms / hits):")
    for _, queries in cases:
        for query, opts in queries:
            kwargs = {"today": today, **opts}
            hits = store.search(query, **kwargs)
            ms = statistics.median(timed(lambda q=query, k=kwargs: store.search(q, **k), 5))
            print(f"  {query!r:<24} {opts!s:<34} {ms:7.1f}ms {len(hits):3d} hits")


if __name__ == "__main__":
    main()
