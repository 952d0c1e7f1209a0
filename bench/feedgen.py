"""A local feed server for benchmarks: many realistic Korean public-call feeds on 127.0.0.1.

`GET /f/{items}/{n}.xml` is feed number n with `items` entries (RSS 2.0 for most, Atom for
every tenth; UTF-8 for most, EUC-KR for every eighth; RFC 822, dotted `2026.08.21` or
`2026-08-21 15:38:29` dates). Content is a pure function of (items, n, anchor day), so the same
URL gives the same bytes across runs on one day; ETag / Last-Modified come with every answer and
a matching If-None-Match / If-Modified-Since gets 304. Every response waits `latency` seconds.

Items can be added while it runs (bench/bench_steady.py does): `POST /control/add` with a JSON
item puts it on top of one feed from that moment (new body, ETag and Last-Modified) and answers
the time it appeared (`time.monotonic()`, comparable across processes on Linux); `GET
/control/stats` tells how many feed requests were answered (200 / 304), the most that were in
flight at once per address, the gaps between two requests for one feed, and when each added item
was first served; `POST /control/reset` zeroes the counts. Without added items every feed is
what it always was.

Run it on its own (the benchmarks start it as a subprocess and read the JSON line it prints):

    .venv/bin/python bench/feedgen.py [--hosts 1] [--latency 0.02]

`--hosts K` serves the same feeds from K loopback addresses 127.0.0.1 … 127.0.0.K (one server
each), so a client's per-host limits can be seen. `feed_urls(bases, count, items)` spreads
feeds over them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from functools import lru_cache
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.request import Request, urlopen

KST = timezone(timedelta(hours=9))

# Topic words: the first three groups are what the shipped rules look for.
HEALTH = ["디지털헬스케어", "디지털 헬스케어", "스마트헬스케어", "비대면 진료", "의료 AI", "원격의료",
          "디지털치료기기", "웨어러블 헬스케어", "의료 마이데이터", "보건의료 빅데이터"]
TEUKGU = ["강소특구", "강소연구개발특구", "연구개발특구", "특구 기술사업화", "특구기업 육성",
          "연구소기업", "기술이전·사업화"]
DEVICE = ["의료기기", "혁신의료기기", "체외진단", "체외 진단기기", "메드테크", "의료기기 인허가",
          "수술로봇", "영상진단기기", "치과기자재"]
OTHER = ["수소 연료전지", "시스템반도체", "팹리스", "스마트팜", "푸드테크", "탄소중립", "재생에너지",
         "메타버스 콘텐츠", "웹툰", "수출바우처", "해외전시회", "소상공인 판로", "관광특구", "의료관광",
         "규제자유특구", "창업도약패키지", "예비창업자", "TIPS", "로봇 실증", "자율주행", "드론",
         "바이오의약품", "세포치료제", "농식품 수출", "지역특화산업", "뿌리산업", "ESG 경영", "디자인 개발"]
NEUTRAL = ["기업 모집", "기술개발", "실증", "사업화", "컨설팅", "인증 획득", "시제품 제작", "판로개척",
           "인력양성", "마케팅", "해외진출", "투자유치", "공동연구", "장비 활용"]
PREFIX = ["2026년", "2026년도", "(재공고)", "[대전]", "[경북]", "[전북]", "[강원]", "[부산]", "[충북]", "",
          "", ""]
SUFFIX = ["지원사업 공고", "참여기업 모집 공고", "신규과제 공모", "수요조사 안내", "시행계획 공고",
          "사업설명회 개최 안내", "선정결과 안내", "수행기관 모집", "공모 안내", "채용 공고"]
AGENCIES = ["과학기술정보통신부", "산업통상자원부", "보건복지부", "식품의약품안전처", "중소벤처기업부",
            "한국보건산업진흥원", "연구개발특구진흥재단", "정보통신산업진흥원", "창업진흥원",
            "한국산업기술진흥원", "경북테크노파크", "대전테크노파크"]
HOSTS = ["www.ntis.go.kr", "www.bizinfo.go.kr", "www.mohw.go.kr", "www.mfds.go.kr", "www.khidi.or.kr",
         "www.innopolis.or.kr", "www.mss.go.kr", "www.kised.or.kr", "www.gbtp.or.kr", "www.djtp.or.kr"]


def anchor_day() -> datetime:
    """Today 00:00 in Korea: items are dated relative to it, so feeds are stable within a day."""
    now = datetime.now(KST)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _item(rng: random.Random, feed: int, k: int, anchor: datetime) -> dict:
    roll = rng.random()
    pool = HEALTH if roll < 0.08 else TEUKGU if roll < 0.14 else DEVICE if roll < 0.22 else OTHER
    topic = rng.choice(pool)
    title = f"{rng.choice(PREFIX)} {topic} {rng.choice(NEUTRAL)} {rng.choice(SUFFIX)}".strip()
    published = anchor - timedelta(minutes=rng.randint(0, 30 * 24 * 60))
    start = published.date() + timedelta(days=rng.randint(0, 7))
    end = start + timedelta(days=rng.randint(10, 45))
    other = rng.choice(OTHER)
    site = rng.choice(HOSTS)
    seq = 100000 + feed * 10000 + k
    # About one item in twelve is an announcement other feeds carry too (same link, other params).
    shared = rng.random() < 0.08
    if shared:
        seq = 900000 + rng.randint(0, 400)
        site = HOSTS[seq % len(HOSTS)]
    summary = (
        f"<p>{escape(topic)} 분야 {escape(rng.choice(NEUTRAL))} 역량 강화를 위해 중소기업을 모집합니다.</p>"
        f"<p><b>지원내용</b>: 과제당 최대 {rng.randint(1, 30) * 1000}만원, {escape(other)} 연계 우대<br/>"
        f"신청자격: {escape(rng.choice(['중소기업', '중견기업', '대학·연구기관', '예비창업자']))} "
        f"(컨소시엄 가능)&nbsp;&nbsp;</p>"
        f"<p>접수기간: {start:%Y. %m. %d.} ~ {end:%Y. %m. %d.} 18:00</p>"
        f"<p>자세한 내용은 <a href=\"/board/view.do?seq={seq}\">공고문</a>과 "
        f"<img src=\"/images/notice_{seq}.png\" alt=\"포스터\"/>를 참고하십시오.</p>"
    )
    return {
        "title": title,
        "link": f"https://{site}/board/view.do?seq={seq}&menuId=M{feed % 7:02d}"
                + ("&utm_source=rss&utm_medium=feed" if shared else ""),
        "guid": f"{site}:{seq}" if not shared else f"f{feed}-{seq}",
        "summary": summary,
        "published": published,
        "agency": rng.choice(AGENCIES),
    }


def _date(dt: datetime, style: int) -> str:
    if style == 1:
        return f"{dt:%Y.%m.%d}"
    if style == 2:
        return f"{dt:%Y-%m-%d %H:%M:%S}"
    return format_datetime(dt)


@lru_cache(maxsize=4096)
def render(items: int, feed: int, day: str, extra: tuple[tuple[tuple[str, str], ...], ...] = ()
           ) -> tuple[bytes, str, str]:
    """(body, content type, ETag) of one feed; `extra`: added items, each a tuple of (key, value)
    pairs (title, link, guid, summary, agency, published as ISO 8601)."""
    anchor = datetime.fromisoformat(day)
    rng = random.Random(f"{items}/{feed}/{day}")
    entries = [_item(rng, feed, k, anchor) for k in range(items)]
    for pairs in extra:
        added = dict(pairs)
        entries.append({**added, "published": datetime.fromisoformat(added["published"])})
    entries.sort(key=lambda e: e["published"], reverse=True)
    atom = feed % 10 == 9
    charset = "euc-kr" if feed % 8 == 6 and not atom else "utf-8"
    style = 1 if feed % 5 == 3 else 2 if feed % 7 == 5 else 0
    title = f"기관 {feed} 사업공고"
    if atom:
        parts = ['<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">',
                 f"<title>{title}</title><id>urn:bench:{feed}</id>",
                 f'<link href="https://bench.example/{feed}/"/>',
                 f"<updated>{entries[0]['published'].isoformat()}</updated>"]
        for e in entries:
            parts.append(
                f"<entry><title>{escape(e['title'])}</title><link href=\"{escape(e['link'])}\"/>"
                f"<id>{escape(e['guid'])}</id><updated>{e['published'].isoformat()}</updated>"
                f"<author><name>{e['agency']}</name></author>"
                f"<summary type=\"html\">{escape(e['summary'])}</summary></entry>")
        parts.append("</feed>")
        ctype = "application/atom+xml; charset=utf-8"
    else:
        parts = [f'<?xml version="1.0" encoding="{charset}"?>\n<rss version="2.0"><channel>',
                 f"<title>{title}</title><link>https://bench.example/{feed}/</link>",
                 f"<description>{title} RSS</description><language>ko</language>"]
        for e in entries:
            parts.append(
                f"<item><title>{escape(e['title'])}</title><link>{escape(e['link'])}</link>"
                f"<guid isPermaLink=\"false\">{escape(e['guid'])}</guid>"
                f"<description>{escape(e['summary'])}</description>"
                f"<author>{e['agency']}</author><category>{e['agency']}</category>"
                f"<pubDate>{_date(e['published'], style)}</pubDate></item>")
        parts.append("</channel></rss>")
        ctype = "application/rss+xml" + ("" if charset == "utf-8" else f"; charset={charset}")
    body = "\n".join(parts).encode(charset, errors="xmlcharrefreplace")
    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
    return body, ctype, etag


class Control:
    """Added items and request counts, shared by every address's server (one process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.extra: dict[tuple[int, int], list[dict]] = {}  # (items, feed) -> added items, oldest first
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.status: dict[int, int] = {}
            self.in_flight: dict[str, int] = {}
            self.max_in_flight: dict[str, int] = {}
            self.last: dict[str, float] = {}  # feed path -> monotonic time of its last request
            self.gaps: list[float] = []

    def begin(self, host: str, path: str) -> None:
        now = time.monotonic()
        with self.lock:
            self.in_flight[host] = n = self.in_flight.get(host, 0) + 1
            self.max_in_flight[host] = max(n, self.max_in_flight.get(host, 0))
            if path in self.last:
                self.gaps.append(now - self.last[path])
            self.last[path] = now

    def end(self, host: str, status: int) -> None:
        with self.lock:
            self.in_flight[host] -= 1
            self.status[status] = self.status.get(status, 0) + 1

    def add(self, items: int, feed: int, item: dict) -> float:
        with self.lock:
            at = time.monotonic()
            published = datetime.now(KST).replace(microsecond=0)
            self.extra.setdefault((items, feed), []).append(
                {**item, "published": published.isoformat(), "appeared": at, "served": None,
                 "last_modified": format_datetime(published.astimezone(UTC), usegmt=True)})
            return at

    def extras(self, items: int, feed: int) -> tuple[tuple[tuple[tuple[str, str], ...], ...], str | None]:
        """(items added to this feed, for `render`; their Last-Modified) as of now."""
        with self.lock:
            added = self.extra.get((items, feed))
            if not added:
                return (), None
            keys = ("title", "link", "guid", "summary", "agency", "published")
            return tuple(tuple((k, str(a[k])) for k in keys) for a in added), added[-1]["last_modified"]

    def served(self, items: int, feed: int, count: int) -> None:
        """A 200 answer with the first `count` added items of a feed has been written."""
        now = time.monotonic()
        with self.lock:
            for a in self.extra.get((items, feed), [])[:count]:
                if a["served"] is None:
                    a["served"] = now

    def stats(self) -> dict:
        with self.lock:
            gaps = sorted(self.gaps)
            return {
                "requests": sum(self.status.values()),
                "status": {str(k): v for k, v in sorted(self.status.items())},
                "max_in_flight": dict(self.max_in_flight),
                "feeds_polled": len(self.last),
                "gaps": {"count": len(gaps), "min": gaps[0] if gaps else None,
                         "median": gaps[len(gaps) // 2] if gaps else None, "max": gaps[-1] if gaps else None},
                "added": [{"items": key[0], "feed": key[1], "guid": a["guid"], "appeared": a["appeared"],
                           "served": a["served"]} for key, added in self.extra.items() for a in added],
            }


CONTROL = Control()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    latency = 0.02
    day = ""
    last_modified = ""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0]
        if path == "/control/stats":
            self._json(CONTROL.stats())
            return
        host = f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        CONTROL.begin(host, path)
        status = 0
        try:
            status = self._feed(path)
        finally:
            CONTROL.end(host, status)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        path = self.path.split("?")[0]
        if path == "/control/add":
            self._json({"appeared": CONTROL.add(int(body.pop("items", 30)), int(body.pop("feed")), body)})
        elif path == "/control/reset":
            CONTROL.reset()
            self._json({"ok": True})
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def _json(self, data: dict) -> None:
        raw = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _feed(self, path: str) -> int:
        time.sleep(self.latency)
        try:
            _, _, items, name = path.split("/")
            items_n, feed = int(items), int(name.split(".")[0])
        except ValueError:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return 404
        extra, added_at = CONTROL.extras(items_n, feed)
        body, ctype, etag = render(items_n, feed, self.day, extra)
        last_modified = added_at or self.last_modified
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if inm == etag or (inm is None and ims == last_modified):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
            self.end_headers()
            return 304
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", last_modified)
        self.end_headers()
        self.wfile.write(body)
        if extra:
            CONTROL.served(items_n, feed, len(extra))
        return 200


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def serve(hosts: int = 1, latency: float = 0.02, port: int = 0, day: str | None = None) -> list[Server]:
    """Start `hosts` servers (127.0.0.1 …) in daemon threads; returns them."""
    anchor = datetime.fromisoformat(day) if day else anchor_day()
    handler = type("BenchHandler", (Handler,), {
        "latency": latency, "day": anchor.isoformat(),
        "last_modified": format_datetime(anchor.replace(hour=0).astimezone(UTC), usegmt=True)})
    servers = []
    for k in range(hosts):
        server = Server((f"127.0.0.{k + 1}", port), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    return servers


def bases(servers: list[Server]) -> list[str]:
    return [f"http://{s.server_address[0]}:{s.server_address[1]}" for s in servers]


def feed_urls(base_urls: list[str], count: int, items: int = 30) -> list[str]:
    return [f"{base_urls[n % len(base_urls)]}/f/{items}/{n}.xml" for n in range(count)]


class FeedProcess:
    """The server in a subprocess (its own interpreter, so it does not share a GIL with the
    process that measures). Use as a context manager; `.bases` are its base URLs."""

    def __init__(self, hosts: int = 1, latency: float = 0.02) -> None:
        self.latency = latency
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--hosts", str(hosts), "--latency", str(latency)],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("feed server did not start")
        self.bases: list[str] = json.loads(line)["bases"]

    def urls(self, count: int, items: int = 30) -> list[str]:
        return feed_urls(self.bases, count, items)

    def control(self, action: str, data: dict | None = None) -> dict:
        """`stats` (GET), `add` / `reset` (POST with `data`): see the module docstring."""
        url = f"{self.bases[0]}/control/{action}"
        body = None if action == "stats" else json.dumps(data or {}).encode()
        with urlopen(Request(url, data=body, headers={"Content-Type": "application/json"}), timeout=30) as resp:
            return json.loads(resp.read())

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def __enter__(self) -> FeedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=1, help="loopback addresses to serve from (127.0.0.1..K)")
    ap.add_argument("--latency", type=float, default=0.02, help="seconds before every answer")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--day", help="anchor day (ISO) instead of today")
    args = ap.parse_args()
    servers = serve(args.hosts, args.latency, args.port, args.day)
    print(json.dumps({"bases": bases(servers)}), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
