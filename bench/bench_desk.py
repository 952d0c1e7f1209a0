"""The desk (`watcher serve`, a real process) under load, on loopback only.

    .venv/bin/python bench/bench_desk.py [--clients 50] [--seconds 10] [--rows 3000] [--half-open 3000]
                                        [--src DIR] [--quick]

Fills a database with --rows matched announcements (once, kept in bench/out/desk.db), starts
`watcher serve` on a free port of 127.0.0.1 and measures:
  1. load: --clients threads for --seconds, each in a loop: nine result pages (varied words, pages and
     sorts) then one CSV export of every row; requests per second, page latency p50/p99, CSV p50;
  2. the CSV export alone, before and after the load (p50 of 5);
  3. half-open connections: --half-open sockets connected that never send a request; a page's latency
     while they are held, then all of them closed at once and the time until a page answers again.
`--src DIR` runs the server from another checkout's `watcher` package (e.g. main's, for before/after).
Every loop is bounded in count and time; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watcher.models import Announcement, Hit, Source  # noqa: E402
from watcher.store import KST, Store  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
WORDS = ["의료기기", "바이오", "특구", "실증", "지원사업", "인공지능", "반도체", "스마트팜", "수소", "창업"]
RULES = 'defaults:\n  channel: "#g"\nrules:\n  - name: all\n    any: [공고]\n'


def fill(path: Path, rows: int) -> None:
    if path.exists():
        store = Store(path)
        have = store.conn.execute("SELECT count(*) FROM announcements").fetchone()[0]
        store.close()
        if have == rows:
            return
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    rng = random.Random(25)
    now = datetime.now(KST)
    store = Store(path)
    source = Source(id="board", url="http://127.0.0.1:9/", name="게시판")
    items = []
    for i in range(rows):
        words = " ".join(rng.sample(WORDS, 3))
        due = (now + timedelta(days=rng.randint(-30, 90))).date().isoformat()
        ann = Announcement("board", f"a{i}", f"2026년 {words} 공고 제{i:05d}호", f"https://example.go.kr/v/{i}",
                           summary=f"ㅇ 지원대상: {words} 기업. ㅇ 접수기간: ~ {due}",
                           published=(now - timedelta(hours=i % 500)).isoformat(timespec="seconds"),
                           deadline=due, agency="중소벤처기업부")
        items.append((ann, [Hit("all", "#g", ("공고",))]))
    store.ingest(source, items, now, 400 * 86400)
    store.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(port: int, target: str, timeout: float = 60) -> tuple[int, int]:
    """(status, body bytes) of one GET on a new connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        return response.status, len(response.read())
    finally:
        conn.close()


def page_target(rng: random.Random) -> str:
    from urllib.parse import urlencode

    return "/search?" + urlencode({"q": rng.choice(WORDS), "page": rng.randint(1, 5),
                                   "sort": rng.choice(["newest", "deadline"])})


CSV = "/search?q=%EA%B3%B5%EA%B3%A0&format=csv"  # every row: q=공고


def load(port: int, clients: int, seconds: float) -> dict[str, float]:
    pages: list[float] = []
    csvs: list[float] = []
    errors = [0]
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def client(n: int) -> None:
        rng = random.Random(n)
        k = 0
        while time.monotonic() < end:
            target = CSV if k % 10 == 9 else page_target(rng)
            started = time.monotonic()
            try:
                status, _ = get(port, target)
                ok = status == 200
            except OSError:
                ok = False
            took = time.monotonic() - started
            with lock:
                if not ok:
                    errors[0] += 1
                (csvs if target == CSV else pages).append(took)
            k += 1

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    wall = time.monotonic() - started
    done = len(pages) + len(csvs)
    return {"requests": done, "rps": done / wall, "errors": errors[0],
            "page_p50": quantile(pages, 0.5), "page_p99": quantile(pages, 0.99),
            "csv_p50": quantile(csvs, 0.5), "csv_n": len(csvs)}


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def alone(port: int, target: str, n: int = 5) -> float:
    times = []
    for _ in range(n):
        started = time.monotonic()
        get(port, target)
        times.append(time.monotonic() - started)
    return statistics.median(times)


def half_open(port: int, count: int) -> dict[str, float]:
    socks = []
    for _ in range(count):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
    time.sleep(1)
    started = time.monotonic()
    try:
        get(port, "/search?q=%ED%8A%B9%EA%B5%AC", timeout=60)
        held = time.monotonic() - started
    except OSError:
        held = float("nan")
    for sock in socks:
        sock.close()
    started = time.monotonic()
    deaf = float("nan")
    while time.monotonic() - started < 60:
        try:
            get(port, "/search?q=%ED%8A%B9%EA%B5%AC", timeout=60)
            deaf = time.monotonic() - started
            break
        except OSError:
            time.sleep(0.05)
    return {"connected": len(socks), "page_while_held": held, "page_after_close": deaf}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--half-open", type=int, default=3000)
    ap.add_argument("--src", help="run the server from this checkout's watcher package")
    ap.add_argument("--quick", action="store_true", help="10 clients, 3 s, 500 half-open")
    args = ap.parse_args()
    if args.quick:
        args.clients, args.seconds, args.half_open = 10, 3.0, 500
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.half_open + 1024)), hard))
    OUT.mkdir(exist_ok=True)
    db = OUT / "desk.db"
    fill(db, args.rows)
    (OUT / "desk-sources.yaml").write_text("sources:\n  - id: board\n    url: http://127.0.0.1:9/\n", encoding="utf-8")
    (OUT / "desk-rules.yaml").write_text(RULES, encoding="utf-8")
    port = free_port()
    env = {**os.environ, "WATCHER_DB": str(db), "WATCHER_SOURCES": str(OUT / "desk-sources.yaml"),
           "WATCHER_RULES": str(OUT / "desk-rules.yaml")}
    boot = f"import sys; sys.path.insert(0, {args.src!r}); " if args.src else ""
    cmd = [sys.executable, "-c", boot + "from watcher.cli import main; main()", "serve", "--port", str(port)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard)))
    try:
        for _ in range(300):
            try:
                get(port, "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        before = alone(port, CSV)
        result = load(port, args.clients, args.seconds)
        after = alone(port, CSV)
        held = half_open(port, args.half_open)
    finally:
        server.terminate()
        server.wait(30)
    print(f"desk ({args.src or 'this checkout'}): {args.rows} rows, {args.clients} clients for {args.seconds:g} s")
    print(f"  load: {result['requests']} requests, {result['rps']:.1f}/s, {result['errors']} errors; "
          f"page p50 {result['page_p50'] * 1000:.0f} ms, p99 {result['page_p99'] * 1000:.0f} ms; "
          f"CSV of {args.rows} rows p50 {result['csv_p50'] * 1000:.0f} ms under load ({result['csv_n']})")
    print(f"  CSV alone: {before * 1000:.0f} ms before the load, {after * 1000:.0f} ms after")
    print(f"  half-open: {held['connected']} held: a page in {held['page_while_held'] * 1000:.0f} ms; "
          f"all closed at once: a page answers after {held['page_after_close'] * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
