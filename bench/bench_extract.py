"""What reading calls costs: attachments per second and CPU per MB by type, and a cycle's wall time
with detail pages on versus off.

    .venv/bin/python bench/bench_extract.py [--quick] [--boards 10] [--items 10] [--latency 0.02] [--json F]

1. The real attachments (../shared/samples/real/attachments/: 21 HWP, 1 HWPX, 8 PDF), each read
   `--repeat` times in this process (watcher.extract.read_bytes) and through the bounded worker
   (watcher.extract.extract: one forked child per file): files per second, CPU ms per MB of input
   (this process and its children, getrusage), median ms per file, peak RSS of a child.
2. `run_once` (watcher/pipeline/cycle.py) over local boards, one HTTP server per board on 127.0.0.1
   (its own port: the per-host limit applies per board, as on real sites), `--latency` s per answer:
   each board lists `--items` new calls dated today; each call's page links its 공고문 (an HWP:
   r07 when the captures are there) and a form. Detail pages off (the shipped behaviour without
   `detail:`), then on (body, files, the 공고문 read; the form never fetched), each on a fresh
   database; wall time, requests served, calls read, alerts.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REAL = ROOT.parent / "shared" / "samples" / "real" / "attachments"


def cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def by_type(repeat: int) -> dict:
    from watcher.extract import extract, read_bytes

    files = sorted(p for p in REAL.glob("r*") if p.suffix in (".hwp", ".hwpx", ".pdf"))
    if not files:
        print(f"no real attachments at {REAL}: part 1 skipped")
        return {}
    out = {}
    for kind in ("hwp", "hwpx", "pdf"):
        chosen = [(p.name, p.read_bytes()) for p in files if p.suffix == f".{kind}"]
        mb = sum(len(d) for _, d in chosen) / 1e6
        row = {"files": len(chosen), "MB": round(mb, 2)}
        for how, read in (("in process", lambda d, n: read_bytes(d, n)), ("worker", lambda d, n: extract(d, n))):
            times = []
            c0, w0 = cpu(), time.perf_counter()
            for _ in range(repeat):
                for name, data in chosen:
                    t = time.perf_counter()
                    read(data, name)
                    times.append((time.perf_counter() - t) * 1000)
            wall, used = time.perf_counter() - w0, cpu() - c0
            row[how] = {"files/s": round(len(chosen) * repeat / wall, 1),
                        "CPU ms/MB": round(used * 1000 / (mb * repeat), 1),
                        "median ms": round(statistics.median(times), 1), "max ms": round(max(times), 1)}
        out[kind] = row
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out["peak RSS of a worker child (MiB)"] = round(child, 1)
    return out


# ---- part 2: a cycle over local boards -------------------------------------------------------------

def notice_bytes() -> bytes:
    found = sorted(REAL.glob("r07-*"))
    if found:
        return found[0].read_bytes()
    from tests.hwp_synth import notice

    return notice("모집 공고", "지원분야 : 의료기기", "접수기간 : 2026. 1. 1. ~ 2026. 12. 31.")


class Board:
    """One board on its own port: a list of `items` calls, their pages, a 공고문 and a form each."""

    def __init__(self, number: int, items: int, latency: float, notice: bytes) -> None:
        self.requests = 0
        board = self
        today = datetime.now().strftime("%Y.%m.%d")
        rows = "".join(f'<tr><td class="t"><a href="/view?no={j}">{number}번 게시판 {j}번 지원사업 모집 공고</a></td>'
                       f'<td class="d">{today}</td></tr>' for j in range(items))
        self.pages = {"/list": f"<table><tbody>{rows}</tbody></table>".encode()}
        for j in range(items):
            self.pages[f"/view?no={j}"] = (
                f'<div class="view"><p>{j}번 사업 안내. 자세한 사항은 첨부 참조</p></div><div class="files">'
                f'<a href="/file?no={j}&k=0">(공고문) {j}번 모집 공고.hwp</a>'
                f'<a href="/file?no={j}&k=1">(양식) 신청서.hwp</a></div>').encode()
            self.pages[f"/file?no={j}&k=0"] = notice
            self.pages[f"/file?no={j}&k=1"] = notice

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                board.requests += 1
                time.sleep(latency)
                body = board.pages.get(self.path, b"")
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8" if not self.path.startswith("/file")
                                 else "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


def cycle(boards: list[Board], detail: bool, folder: Path) -> dict:
    from watcher.config.load import load_config
    from watcher.deliver.senders import ConsoleSender
    from watcher.pipeline.cycle import run_once
    from watcher.store import Store

    lines = ["defaults:\n  timeout: 20s\nsources:"]
    for i, board in enumerate(boards):
        lines.append(f"  - id: b{i}\n    kind: html\n    url: {board.url}/list\n    items: tbody tr\n"
                     "    fields: {title: td.t a, link: td.t a@href, published: td.d}")
        if detail:
            lines.append("    detail: {body: div.view, files: div.files a, wait: 1m}")
    (folder / "s.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "r.yaml").write_text("rules:\n  - name: devices\n    any: [의료기기, 지역주력산업]\n"
                                   "    fields: [title, body, attachments]\n", encoding="utf-8")
    config = load_config(folder / "s.yaml", folder / "r.yaml")
    store = Store(folder / f"{'on' if detail else 'off'}.db")
    before = sum(b.requests for b in boards)
    started, c0 = time.perf_counter(), cpu()
    report = run_once(config, store, ConsoleSender(io.StringIO()))
    wall, used = time.perf_counter() - started, cpu() - c0
    store.close()
    return {"wall s": round(wall, 2), "CPU s": round(used, 2), "requests": sum(b.requests for b in boards) - before,
            "calls read": sum(n for n, _ in report.reads.values()), "alerts sent": report.delivery.sent}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--boards", type=int, default=10)
    ap.add_argument("--items", type=int, default=10)
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", metavar="F")
    args = ap.parse_args()
    if args.quick:
        args.boards, args.items, args.repeat = 3, 5, 1
    results: dict = {"python": sys.version.split()[0], "cores": os.cpu_count()}
    results["by type"] = by_type(args.repeat)
    for kind, row in results["by type"].items():
        if isinstance(row, dict):
            print(f"{kind:5} {row['files']:2} files {row['MB']:6.2f} MB  in process {row['in process']}  "
                  f"worker {row['worker']}")
    notice = notice_bytes()
    boards = [Board(i, args.items, args.latency, notice) for i in range(args.boards)]
    with tempfile.TemporaryDirectory() as tmp:
        for detail in (False, True):
            label = "detail pages on" if detail else "detail pages off"
            results[label] = cycle(boards, detail, Path(tmp))
            print(f"{label:17} {results[label]}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
