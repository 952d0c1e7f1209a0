"""One poll cycle of `watcher once` against the naive script, on a local feed server.

    .venv/bin/python bench/bench_cycle.py [--quick] [--scale] [--feeds 200] [--hosts 1]

Both run as subprocesses against bench/feedgen.py (20 ms per response) with the shipped
rules.yaml: cold (fresh database / fresh seen file), then warm (again, feeds unchanged). Wall
time, CPU time and peak RSS are those of the child (os.wait4). Alerts go to standard output,
which is sent to /dev/null; the database and the seen file are checked afterwards.

Then: ingest rate on large feeds (20 feeds x 1,000 items), peak memory with 1,000 sources, and
with --scale the cold / warm cycle at 100, 1,000 and 5,000 sources.
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
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import requests
from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feedgen import FeedProcess  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
WATCHER = ROOT / ".venv" / "bin" / "watcher"
NAIVE = Path(__file__).resolve().parent / "naive.py"
RULES = ROOT / "rules.yaml"
PER_HOST, WORKERS = 4, 32  # watcher/run.py, for the network floor

# Used only while the project ships no rules.yaml yet.
FALLBACK_RULES = """\
defaults:
  channel: "#gongmo"
  fields: [title, summary]
  max_age: 14d
  digest_over: 5
synonyms:
  - [강소특구, 강소연구개발특구]
  - [의료기기, medical device]
  - [디지털헬스케어, 디지털 헬스케어, 스마트헬스케어]
rules:
  - name: digital-health
    any: [디지털헬스케어, 비대면 진료, 의료 AI, 디지털치료기기, 의료 마이데이터]
    none: [채용]
  - name: gangso-teukgu
    any: [강소특구, 연구개발특구, 연구소기업]
    none: [채용, 관광특구]
  - name: medical-devices
    any: [의료기기, 메드테크, "re:체외\\\\s*진단"]
    none: [채용, 의료관광]
"""


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    code: int


def run_child(argv: list[str], env: dict[str, str], stderr_path: Path) -> Run:
    """Run argv with stdout to /dev/null; wall time, and the child's own CPU time and peak RSS."""
    with open(os.devnull, "wb") as out, open(stderr_path, "ab") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


def child_env() -> dict[str, str]:
    """No Slack variables (alerts to stdout); bytecode cached as in production, outside the tree."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "WATCHER_")) and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")}
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "gongmo-bench-pycache")
    return env


def naive_rules(rules_path: Path, out: Path) -> None:
    """rules.yaml -> the naive script's keyword lists, synonyms spelled out."""
    doc = YAML(typ="safe").load(rules_path.read_text(encoding="utf-8")) or {}
    groups = [[str(w) for w in g] for g in doc.get("synonyms") or []]

    def expand(word: str) -> list[str]:
        for g in groups:
            if word in g:
                return g
        return [word]

    rules = []
    for r in doc.get("rules") or []:
        rules.append({
            "name": r["name"],
            "any": [w for k in r.get("any") or [] for w in expand(str(k))],
            "all": [expand(str(k)) if len(expand(str(k))) > 1 else str(k) for k in r.get("all") or []],
            "none": [w for k in r.get("none") or [] for w in expand(str(k))],
        })
    out.write_text(json.dumps(rules, ensure_ascii=False, indent=1), encoding="utf-8")


def write_sources(path: Path, urls: list[str], interval: str = "10m") -> None:
    lines = ["defaults:", f"  interval: {interval}", "  timeout: 20s", "sources:"]
    for n, url in enumerate(urls):
        lines += [f"  - id: s{n:05d}", f"    name: 기관 {n} 사업공고", f"    url: {url}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def db_counts(db: Path) -> str:
    try:
        con = sqlite3.connect(db)
        anns = con.execute("select count(*) from announcements").fetchone()[0]
        bad = con.execute("select count(*) from sources where coalesce(failures, 0) > 0").fetchone()[0]
        alerts = con.execute("select count(*) from alerts").fetchone()[0]
        con.close()
        return f"{anns} announcements, {alerts} alerts, {bad} failing sources"
    except sqlite3.Error as exc:
        return f"db unreadable: {exc}"


class Bench:
    def __init__(self, work: Path, rules: Path) -> None:
        self.work, self.rules, self.env = work, rules, child_env()
        self.naive_rules = work / "naive_rules.json"
        naive_rules(rules, self.naive_rules)
        self.log = work / "stderr.log"

    def watcher(self, tag: str, urls: list[str], cold: bool) -> Run:
        sources, db = self.work / f"{tag}.sources.yaml", self.work / f"{tag}.db"
        if cold:
            write_sources(sources, urls)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        argv = [str(WATCHER), "--sources", str(sources), "--rules", str(self.rules), "--db", str(db), "once"]
        return run_child(argv, self.env, self.log)

    def naive(self, tag: str, urls: list[str], cold: bool) -> Run:
        feeds, seen = self.work / f"{tag}.feeds.txt", self.work / f"{tag}.seen.json"
        if cold:
            feeds.write_text("\n".join(urls) + "\n", encoding="utf-8")
            seen.unlink(missing_ok=True)
        argv = [str(PY), str(NAIVE), str(feeds), str(self.naive_rules), "--seen", str(seen)]
        return run_child(argv, self.env, self.log)


def warm_server(urls: list[str]) -> None:
    """Render every feed once so neither side pays the generator's first-time cost."""
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda u: requests.get(u, timeout=60).content, urls))


def pipeline_works(bench: Bench, fp: FeedProcess) -> tuple[bool, str]:
    urls = fp.urls(2)
    run = bench.watcher("probe", urls, cold=True)
    counts = db_counts(bench.work / "probe.db")
    ok = run.code == 0 and counts.startswith("60 announcements") and "0 failing" in counts
    tail = bench.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
    return ok, f"exit {run.code}; {counts}" + ("" if ok else "; " + " | ".join(tail))


def fmt(x: float, unit: str = "") -> str:
    return f"{x:.2f}{unit}" if x < 100 else f"{x:.0f}{unit}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 else "-"


Results = dict[str, list[Run]]  # phase (cold, warm) -> runs


def measure(runner, tag: str, urls: list[str], repeat: int, log: Path) -> Results:
    results: Results = {"cold": [], "warm": []}
    for _ in range(repeat):
        for phase in ("cold", "warm"):
            run = runner(tag, urls, cold=phase == "cold")
            if run.code != 0:
                print(f"  ! {tag} {phase} exited {run.code}, see {log}")
            results[phase].append(run)
    return results


def naive_side(bench: Bench, fp: FeedProcess, feeds: int, repeat: int) -> Results:
    urls = fp.urls(feeds)
    warm_server(urls)
    bench.naive("probe", urls[:2], cold=True)  # fills the bytecode cache before timing
    log_start = bench.log.stat().st_size
    results = measure(bench.naive, "main-naive", urls, repeat, bench.log)
    seen = bench.work / "main-naive.seen.json"
    if seen.exists():
        with open(bench.log, encoding="utf-8", errors="replace") as f:
            f.seek(log_start)
            said = [ln for ln in f.read().splitlines() if ln.startswith("naive: ")]
        print(f"  naive: seen file holds {len(json.loads(seen.read_text()))} ids; first cold run said: "
              f"{said[0][7:] if said else '?'}")
    return results


def watcher_side(bench: Bench, fp: FeedProcess, feeds: int, repeat: int) -> Results:
    urls = fp.urls(feeds)
    warm_server(urls)
    results = measure(bench.watcher, "main-watcher", urls, repeat, bench.log)
    print(f"  watcher ({len(fp.bases)} host(s)): {db_counts(bench.work / 'main-watcher.db')}")
    return results


def table(naive: Results, watcher: Results | None, feeds: int, hosts: int, latency: float, repeat: int) -> dict:
    floor = feeds * latency / min(PER_HOST * hosts, WORKERS)
    print(f"\nCycle: {feeds} feeds x 30 items, {latency * 1000:.0f} ms per response, {hosts} host(s); "
          f"median of {repeat}; network floor at {PER_HOST}/host: {floor:.2f} s")
    print(f"{'':6}{'':10}{'naive':>10}{'watcher':>10}{'naive/watcher':>15}")
    out: dict = {"feeds": feeds, "hosts": hosts, "repeat": repeat, "floor": floor}
    for phase in ("cold", "warm"):
        for label, attr, unit in (("wall", "wall", " s"), ("CPU", "cpu", " s"), ("peak RSS", "rss_mb", " MB")):
            n = median(getattr(r, attr) for r in naive[phase])
            w = median(getattr(r, attr) for r in watcher[phase]) if watcher else 0.0
            print(f"{phase:6}{label:10}{fmt(n, unit):>10}{(fmt(w, unit) if watcher else '-'):>10}"
                  f"{(ratio(n, w) if watcher else '-'):>15}")
            out[f"{phase}_{attr}"] = {"naive": n, "watcher": w}
    return out


def watcher_cycle(bench: Bench, fp: FeedProcess, tag: str, feeds: int, items: int = 30) -> tuple[Run, Run]:
    urls = fp.urls(feeds, items)
    warm_server(urls)
    cold = bench.watcher(tag, urls, cold=True)
    warm = bench.watcher(tag, urls, cold=False)
    note = db_counts(bench.work / f"{tag}.db")
    print(f"  {tag}: {note}")
    return cold, warm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    ap.add_argument("--scale", action="store_true", help="also cold/warm cycles at 100, 1,000 and 5,000 sources")
    ap.add_argument("--feeds", type=int, help="sources in the side-by-side run (default 200, quick 50)")
    ap.add_argument("--repeat", type=int, help="repetitions of the side-by-side run (default 3, quick 1)")
    ap.add_argument("--hosts", default="1,50",
                    help="comma list: side-by-side with feeds on 127.0.0.1..K for each K (default 1,50; "
                         "the naive script is serial, its figures are reused)")
    ap.add_argument("--latency", type=float, default=0.02, help="seconds per response (default 0.02)")
    ap.add_argument("--naive-only", action="store_true", help="skip the watcher (harness check)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    feeds = args.feeds or (50 if args.quick else 200)
    repeat = args.repeat or (1 if args.quick else 3)

    work = Path(tempfile.mkdtemp(prefix="bench-cycle-"))
    rules = RULES
    if not rules.exists():
        rules = work / "rules.yaml"
        rules.write_text(FALLBACK_RULES, encoding="utf-8")
        print(f"note: {RULES} missing, using bench's fallback rules")
    bench = Bench(work, rules)
    figures: dict = {}
    started = time.perf_counter()
    host_counts = [int(h) for h in str(args.hosts).split(",") if h.strip()]
    fp = FeedProcess(hosts=host_counts[0], latency=args.latency)
    try:
        with_watcher = not args.naive_only
        if with_watcher:
            ok, detail = pipeline_works(bench, fp)
            print(f"pipeline probe (watcher once, 2 sources): {detail}")
            if not ok:
                print("watcher once does not work end to end yet: naive side only")
                with_watcher = False
        naive = naive_side(bench, fp, feeds, repeat)
        figures["cycle"] = []
        for k, hosts in enumerate(host_counts):
            if k:
                fp.close()
                fp = FeedProcess(hosts=hosts, latency=args.latency)
            watcher = watcher_side(bench, fp, feeds, repeat) if with_watcher else None
            figures["cycle"].append(table(naive, watcher, feeds, hosts, args.latency, repeat))
            if not with_watcher:
                break
        if len(host_counts) > 1:
            fp.close()
            fp = FeedProcess(hosts=host_counts[0], latency=args.latency)

        if with_watcher:
            n_large, items = (5, 1000) if args.quick else (20, 1000)
            cold, warm = watcher_cycle(bench, fp, "large", n_large, items)
            entries = n_large * items
            rate = entries / cold.wall
            print(f"\nIngest, {n_large} feeds x {items} items, cold: {cold.wall:.2f} s wall, {cold.cpu:.2f} s CPU, "
                  f"{cold.rss_mb:.0f} MB -> {rate:,.0f} entries/s (goal >= 10,000/s); "
                  f"warm {warm.wall:.2f} s")
            figures["ingest"] = {"entries": entries, "wall": cold.wall, "cpu": cold.cpu, "rss_mb": cold.rss_mb,
                                 "rate": rate, "warm_wall": warm.wall}

            sizes = [100, 1000, 5000] if args.scale else [200 if args.quick else 1000]
            print(f"\nScale ({fp.latency * 1000:.0f} ms per response, {len(fp.bases)} host(s), 30 items each):")
            print(f"{'sources':>8}{'cold s':>9}{'cold CPU':>10}{'cold MB':>9}{'warm s':>9}{'warm CPU':>10}"
                  f"{'warm MB':>9}{'floor s':>9}")
            figures["scale"] = []
            for n in sizes:
                cold, warm = watcher_cycle(bench, fp, f"scale{n}", n)
                floor = n * fp.latency / min(PER_HOST * len(fp.bases), WORKERS)
                print(f"{n:>8}{cold.wall:>9.2f}{cold.cpu:>10.2f}{cold.rss_mb:>9.0f}{warm.wall:>9.2f}"
                      f"{warm.cpu:>10.2f}{warm.rss_mb:>9.0f}{floor:>9.2f}")
                figures["scale"].append({"sources": n, "cold": cold.__dict__, "warm": warm.__dict__})
            big = next((s for s in figures["scale"] if s["sources"] == 1000), None)
            if big:
                peak = max(big["cold"]["rss_mb"], big["warm"]["rss_mb"])
                print(f"Peak memory with 1,000 sources: {peak:.0f} MB (goal < 150 MB)")
    finally:
        fp.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work folder kept: {work}")
    print(f"\n(bench_cycle took {time.perf_counter() - started:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
