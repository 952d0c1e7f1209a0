"""`watcher once` side by side with real feed readers on the same local feeds, in one run.

    .venv/bin/python bench/bench_peers.py [--quick] [--feeds 200] [--hosts 50] [--repeat 1] [--json F]

Peers: the naive cron script (bench/naive.py), newsboat (`-x reload`, 1 and 8 reload threads) and
sfeed_update (curl, 8 jobs) — Debian packages `newsboat sfeed curl`, installed here when missing and
run as root, skipped with a note otherwise. Every tool polls the same feeds from bench/feedgen.py
(N feeds x 30 Korean items spread over K loopback hosts, 20 ms per response, ETag/Last-Modified
with 304), cold (empty cache/database) then warm (again, feeds unchanged). Wall, CPU (user + system,
the child's own and its reaped children's, `os.wait4`) and peak RSS per tool; each tool's stored
item count is checked against N x 30, so nobody wins by dropping work.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cycle import RULES, Bench, Run, run_child, warm_server  # noqa: E402
from feedgen import FeedProcess  # noqa: E402

ITEMS = 30
PACKAGES = {"newsboat": "newsboat", "sfeed_update": "sfeed", "curl": "curl"}


def ensure_peers() -> list[str]:
    """Install the Debian peers when missing and root; return notes for what is still missing."""
    missing = [pkg for tool, pkg in PACKAGES.items() if shutil.which(tool) is None]
    if missing and os.geteuid() == 0:
        print(f"installing Debian packages for the peers: {' '.join(missing)}", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.call(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
        subprocess.call(["apt-get", "install", "-y", "-qq", *missing], env=env, stdout=subprocess.DEVNULL)
    return [f"{tool} missing (Debian package {pkg}); skipped" for tool, pkg in PACKAGES.items()
            if shutil.which(tool) is None]


class Peers:
    """Each tool as (tag, cold) -> Run, plus the number of items it stored."""

    def __init__(self, work: Path, urls: list[str]) -> None:
        self.work, self.urls = work, urls
        self.bench = Bench(work, RULES)
        self.env = self.bench.env
        self.log = self.bench.log

    def watcher(self, cold: bool) -> Run:
        return self.bench.watcher("watcher", self.urls, cold)

    def watcher_items(self) -> int:
        return _count(self.work / "watcher.db", "SELECT count(*) FROM announcements")

    def naive(self, cold: bool) -> Run:
        return self.bench.naive("naive", self.urls, cold)

    def naive_items(self) -> int:
        seen = self.work / "naive.seen.json"
        return len(json.loads(seen.read_text(encoding="utf-8"))) if seen.exists() else 0

    def newsboat(self, threads: int, cold: bool) -> Run:
        home = self.work / f"newsboat{threads}"
        cache = home / "cache.db"
        if cold:
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir(parents=True)
            (home / "urls").write_text("\n".join(self.urls) + "\n", encoding="utf-8")
            (home / "config").write_text(
                f"reload-threads {threads}\nmax-items 0\nkeep-articles-days 0\nshow-read-feeds yes\n",
                encoding="utf-8")
        env = {**self.env, "HOME": str(home), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        argv = ["newsboat", "-x", "reload", "-u", str(home / "urls"), "-c", str(cache), "-C", str(home / "config")]
        return run_child(argv, env, self.log)

    def newsboat_items(self, threads: int) -> int:
        return _count(self.work / f"newsboat{threads}" / "cache.db", "SELECT count(*) FROM rss_item")

    def sfeed(self, cold: bool) -> Run:
        home = self.work / "sfeed"
        if cold:
            shutil.rmtree(home, ignore_errors=True)
            (home / "feeds").mkdir(parents=True)
            lines = [f'sfeedpath="{home / "feeds"}"', "maxjobs=8", "feeds() {"]
            lines += [f'\tfeed "f{n:05d}" "{url}"' for n, url in enumerate(self.urls)]
            (home / "sfeedrc").write_text("\n".join(lines + ["}"]) + "\n", encoding="utf-8")
        env = {**self.env, "HOME": str(home), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        return run_child(["sfeed_update", str(home / "sfeedrc")], env, self.log)

    def sfeed_items(self) -> int:
        feeds = self.work / "sfeed" / "feeds"
        return sum(len(p.read_bytes().splitlines()) for p in feeds.glob("*") if p.is_file())


def _count(db: Path, sql: str) -> int:
    try:
        con = sqlite3.connect(db)
        try:
            return int(con.execute(sql).fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def measure(run, repeat: int) -> dict[str, list[Run]]:
    out: dict[str, list[Run]] = {"cold": [], "warm": []}
    for _ in range(repeat):
        for phase in ("cold", "warm"):
            out[phase].append(run(phase == "cold"))
    return out


def med(runs: list[Run], attr: str) -> float:
    return median(getattr(r, attr) for r in runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="50 feeds over 10 hosts, for a smoke run")
    ap.add_argument("--feeds", type=int, help="feeds (default 200, quick 50)")
    ap.add_argument("--hosts", type=int, help="loopback hosts the feeds are spread over (default 50, quick 10)")
    ap.add_argument("--latency", type=float, default=0.02, help="seconds per response (default 0.02)")
    ap.add_argument("--repeat", type=int, default=1, help="repetitions; medians are shown (default 1)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    feeds = args.feeds or (50 if args.quick else 200)
    hosts = args.hosts or (10 if args.quick else 50)
    notes = ensure_peers()
    work = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    fp = FeedProcess(hosts=hosts, latency=args.latency)
    rows: list[dict] = []
    try:
        urls = fp.urls(feeds, ITEMS)
        warm_server(urls)
        peers = Peers(work, urls)
        peers.bench.watcher("probe", urls[:2], cold=True)  # bytecode cache filled before timing
        tools: list[tuple[str, object, object]] = [
            ("watcher once", peers.watcher, peers.watcher_items),
            ("naive cron script", peers.naive, peers.naive_items),
        ]
        if shutil.which("newsboat"):
            for threads in (1, 8):
                tools.append((f"newsboat -x reload, {threads} thread{'s' if threads > 1 else ''}",
                              lambda cold, t=threads: peers.newsboat(t, cold),
                              lambda t=threads: peers.newsboat_items(t)))
        if shutil.which("sfeed_update") and shutil.which("curl"):
            tools.append(("sfeed_update (curl, 8 jobs)", peers.sfeed, peers.sfeed_items))
        for name, run, count in tools:
            print(f"  running {name} ...", flush=True)
            runs = measure(run, args.repeat)
            codes = sorted({r.code for phase in runs.values() for r in phase})
            rows.append({"tool": name, "items": count(), "codes": codes,
                         **{f"{phase}_{attr}": med(runs[phase], attr)
                            for phase in ("cold", "warm") for attr in ("wall", "cpu", "rss_mb")}})
    finally:
        fp.close()
        shutil.rmtree(work, ignore_errors=True)

    expected = feeds * ITEMS
    print(f"\n{feeds} feeds x {ITEMS} items over {hosts} loopback hosts, {args.latency * 1000:.0f} ms per response, "
          f"ETag/Last-Modified honoured by the server; median of {args.repeat}")
    head = f"{'tool':34}{'items':>7}{'cold wall':>10}{'cold CPU':>9}{'warm wall':>10}{'warm CPU':>9}{'peak MB':>8}"
    print(head)
    print("-" * len(head))
    for r in rows:
        flag = "" if r["items"] == expected and r["codes"] == [0] else f"  ! items {r['items']}, exit {r['codes']}"
        print(f"{r['tool']:34}{r['items']:>7}{r['cold_wall']:>9.2f}s{r['cold_cpu']:>8.2f}s{r['warm_wall']:>9.2f}s"
              f"{r['warm_cpu']:>8.2f}s{max(r['cold_rss_mb'], r['warm_rss_mb']):>8.0f}{flag}")
    ours = rows[0]
    peers_rows = [r for r in rows[1:] if r["items"] == expected]
    if peers_rows:
        print("\nratios (peer / watcher; above 1 means the watcher is faster):")
        for r in peers_rows:
            print(f"  {r['tool']:32} cold wall {r['cold_wall'] / ours['cold_wall']:.2f}x  "
                  f"warm wall {r['warm_wall'] / ours['warm_wall']:.2f}x  "
                  f"cold CPU {r['cold_cpu'] / ours['cold_cpu']:.2f}x  warm CPU {r['warm_cpu'] / ours['warm_cpu']:.2f}x")
        best_cold = min(r["cold_wall"] for r in peers_rows)
        best_warm = min(r["warm_wall"] for r in peers_rows)
        per_entry = ours["cold_cpu"] / max(ours["items"], 1) * 1e6
        print(f"\ngoals: cold wall {ours['cold_wall']:.2f} s vs best peer {best_cold:.2f} s "
              f"({'met' if ours['cold_wall'] <= best_cold else 'not met'}); "
              f"warm wall {ours['warm_wall']:.2f} s vs half the best peer {best_warm / 2:.2f} s "
              f"({'met' if ours['warm_wall'] <= best_warm / 2 else 'not met'}); "
              f"CPU per new entry {per_entry:.0f} µs (goal < 250, {'met' if per_entry < 250 else 'not met'}); "
              f"warm CPU {ours['warm_cpu']:.2f} s (goal < 0.4, {'met' if ours['warm_cpu'] < 0.4 else 'not met'})")
    for note in notes:
        print(f"note: {note}")
    if args.json:
        Path(args.json).write_text(json.dumps({"feeds": feeds, "hosts": hosts, "rows": rows}, indent=1),
                                   encoding="utf-8")
    return 0 if ours["items"] == expected else 1


if __name__ == "__main__":
    sys.exit(main())
