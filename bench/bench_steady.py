"""`watcher run` in steady state: CPU per poll, memory over time, delay from a feed to Slack.

    .venv/bin/python bench/bench_steady.py [--quick] [--sources 1000] [--minutes 10] [--json F]

The real `watcher run` (the scheduled loop, a subprocess) watches N local feeds (bench/feedgen.py,
30 Korean items each, 20 ms per response, ETag / Last-Modified with 304) spread over 50 loopback
addresses, every source at `interval: 1m`, the shortest sources.yaml allows (each poll is then
due 54-66 s after the last: 1m with the watcher's 10% jitter). Slack is a local Web API server
(tests/slack_server.py, at most one message per second per channel, like Slack) reached through
SLACK_BOT_TOKEN + SLACK_API_URL. The database is warmed first with `watcher once` (alerts for the
items already in the feeds go to standard output, thrown away), so the run starts in steady state.

Once every source has been polled (the first round), new items appear in random feeds at known
times (one every 10 s by default), each matching one rule of the shipped rules.yaml. Reported:

- CPU per poll: the watcher's user + system time (/proc/<pid>/stat, and os.wait4 at the end)
  over the feed requests it made (the feed server counts them; the watcher's own poll_counts
  table is shown beside), for the first round and for the steady part after it;
- RSS sampled every 5 s: at the start of the steady part, its middle and its end, the growth and
  a least-squares slope; again from 10 s after the first Slack message (the first new item
  builds the Matcher and the first message loads slack_sdk: a one-off step of ~10 MB);
- per added item: when it appeared, when the feed first served it, when its Slack message
  arrived; the delay p50 / p95 / max, split into waiting for the next poll and poll to Slack;
  and every item must reach each channel its rules name exactly once;
- politeness: the most requests the feed server saw in flight at once on one address (<= 4);
- the load average (other work on the machine changes the figures).

Why not faketime to compress an hour: under libfaketime 0.9.10 with a sped-up clock, Python
3.11's `threading.Event.wait` (the loop's tick) never returns when CLOCK_MONOTONIC is faked, and
`time.sleep` fails with EINVAL when it is not (FAKETIME_DONT_FAKE_MONOTONIC=1), so the scheduled
loop cannot run under it. The run is real time instead: 1,000 sources at 1m for 10 minutes is
~10,000 polls, the polls of ~1 h 40 min of the same sources at the default interval (10m).
`--minutes 60` runs a real hour. `--quick`: 50 sources on 5 addresses, 3 items, ends once they
are delivered (about 70 s: the second poll of a source cannot come before 54 s).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_cycle import RULES, WATCHER, child_env, db_counts, write_sources  # noqa: E402
from feedgen import KST, FeedProcess  # noqa: E402

from tests.slack_server import SlackServer  # noqa: E402
from watcher.config.load import load_rules  # noqa: E402
from watcher.match.matcher import Matcher  # noqa: E402
from watcher.models import Announcement  # noqa: E402

PER_HOST = 4  # watcher/run.py
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
# What the added items are about: one rule of the shipped rules.yaml each (checked with the Matcher).
TOPICS = [
    ("2026년 디지털헬스케어 실증 지원사업 {tag} 참여기업 모집 공고", "보건복지부"),
    ("2026년 강소특구 기술사업화 {tag} 지원사업 공고", "연구개발특구진흥재단"),
    ("2026년 혁신의료기기 인허가 {tag} 지원사업 공고", "식품의약품안전처"),
]


@dataclass
class Sample:
    at: float  # monotonic
    cpu: float  # seconds, user + system of the watcher (and children it waited for)
    rss_mb: float
    threads: int
    requests: int  # feed requests answered so far (since the run started)
    load1: float
    feed_cpu: float  # the feed server's CPU seconds


@dataclass
class Item:
    tag: str
    feed: int
    title: str
    link: str
    guid: str
    channels: list[str]
    due: float  # seconds after the first round, when it should appear
    appeared: float | None = None
    served: float | None = None
    arrivals: dict[str, list[float]] = field(default_factory=dict)  # channel -> monotonic times


def proc_cpu_rss(pid: int) -> tuple[float, float, int]:
    """(CPU seconds incl. waited-for children, RSS MB, threads) of a live process."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is state (field 3); utime..cstime are fields 14..17, threads 20, rss 24
    cpu = sum(int(x) for x in fields[11:15]) / TICK
    return cpu, int(fields[21]) * PAGE / 2**20, int(fields[17])


def plan_items(count: int, feeds: int, span: float, rules_path: Path, seed: int = 16) -> list[Item]:
    """`count` items on random feeds, spread evenly over `span` seconds, each with the channels
    its rules send it to."""
    matcher = Matcher(load_rules(rules_path))
    rng = random.Random(seed)
    items = []
    for k in range(count):
        tag = f"BN{k:05d}"
        pattern, agency = TOPICS[k % len(TOPICS)]
        title = pattern.format(tag=tag)
        link = f"https://www.bizinfo.go.kr/board/view.do?seq={700000 + k}&menuId=M01"
        ann = Announcement(source="s00000", id=tag, title=title, link=link, summary=summary_text(title), agency=agency)
        channels = sorted({hit.channel for hit in matcher.match(ann)})
        due = span * k / max(1, count - 1) if count > 1 else 0.0
        items.append(Item(tag, rng.randrange(feeds), title, link, f"bench-steady-{k}", channels, due))
    return items


def summary_text(title: str) -> str:
    today = datetime.now(KST).date()
    return f"{title}. 접수기간: {today:%Y. %m. %d.} ~ {today + timedelta(days=30):%Y. %m. %d.} 18:00"


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def slope_per_hour(samples: list[Sample]) -> float:
    """Least-squares RSS slope, MB per hour."""
    if len(samples) < 3:
        return float("nan")
    xs = [s.at for s in samples]
    ys = [s.rss_mb for s in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den * 3600 if den else float("nan")


def db_polls(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        n = con.execute("SELECT coalesce(sum(polls), 0) FROM poll_counts").fetchone()[0]
        con.close()
        return int(n)
    except sqlite3.Error:
        return -1


def db_size_mb(db: Path) -> float:
    return sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists()) / 2**20


class Sampler(threading.Thread):
    def __init__(self, pid: int, fp: FeedProcess, every: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.fp, self.every = pid, fp, every
        self.samples: list[Sample] = []
        self.stop = threading.Event()

    def take(self) -> Sample | None:
        try:
            cpu, rss, threads = proc_cpu_rss(self.pid)
            feed_cpu = proc_cpu_rss(self.fp.proc.pid)[0]
        except (OSError, IndexError, ValueError):
            return None
        stats = self.fp.control("stats")
        sample = Sample(time.monotonic(), cpu, rss, threads, stats["requests"], os.getloadavg()[0], feed_cpu)
        self.samples.append(sample)
        return sample

    def run(self) -> None:
        while not self.stop.is_set():
            self.take()
            self.stop.wait(self.every)


def deliveries(slack: SlackServer, items: list[Item]) -> tuple[int, int]:
    """Fill each item's arrivals from the Slack server's messages; (messages, messages naming no item)."""
    with slack._lock:
        messages = list(slack.messages)
    for item in items:
        item.arrivals = {}
    other = 0
    for m in messages:
        blob = json.dumps([m.get("text"), m.get("blocks")], ensure_ascii=False)
        named = [item for item in items if item.tag in blob]
        if not named:
            other += 1
        for item in named:
            item.arrivals.setdefault(m["channel"], []).append(m["time"])
    return len(messages), other


def all_delivered(items: list[Item]) -> bool:
    return all(item.appeared is not None and all(item.arrivals.get(c) for c in item.channels) for item in items)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: 50 sources, 3 items, ends when delivered")
    ap.add_argument("--sources", type=int, help="sources (default 1000, quick 50)")
    ap.add_argument("--hosts", type=int, help="loopback addresses the feeds are spread over (default 50, quick 5)")
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the run in minutes (default 10)")
    ap.add_argument("--items", type=int, help="items added during the run (default one per 10 s, quick 3)")
    ap.add_argument("--latency", type=float, default=0.02, help="seconds per feed response (default 0.02)")
    ap.add_argument("--sample", type=float, help="seconds between two RSS / CPU samples (default 5, quick 1)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (sources, database, logs)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    n = args.sources or (50 if args.quick else 1000)
    hosts = args.hosts or (5 if args.quick else 50)
    every = args.sample or (1.0 if args.quick else 5.0)
    window = 0.0 if args.quick else args.minutes * 60  # quick: until the items are delivered
    # The last item must appear a full interval (+ jitter) before the end to be polled again.
    grace = 80.0

    work = Path(tempfile.mkdtemp(prefix="bench-steady-"))
    sources, db, log = work / "sources.yaml", work / "watcher.db", work / "watcher.log"
    env = child_env()
    started = time.perf_counter()
    figures: dict = {"sources": n, "hosts": hosts, "interval_s": 60, "latency_s": args.latency}
    ok = True
    fp = FeedProcess(hosts=hosts, latency=args.latency)
    try:
        write_sources(sources, fp.urls(n), interval="1m")
        base = [str(WATCHER), "--sources", str(sources), "--rules", str(RULES), "--db", str(db)]
        t = time.perf_counter()
        with open(os.devnull, "wb") as out, open(log, "ab") as err:
            code = subprocess.call([*base, "once"], stdout=out, stderr=err, env=env)
        warm_stats = fp.control("stats")
        print(f"warm-up (watcher once, {n} sources over {hosts} addresses): exit {code}, "
              f"{time.perf_counter() - t:.1f} s; {db_counts(db)}; "
              f"most in flight on one address: {max(warm_stats['max_in_flight'].values())}")
        if code != 0:
            print(f"watcher once failed, see {log}")
            return 1
        polls_before = db_polls(db)
        fp.control("reset")

        with SlackServer() as slack:
            run_env = {**env, "SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url}
            err = open(log, "ab")  # noqa: SIM115 - closed below, after the child is gone
            t0 = time.monotonic()
            proc = subprocess.Popen([*base, "run"], stdout=subprocess.DEVNULL, stderr=err, env=run_env)
            sampler = Sampler(proc.pid, fp, every)
            sampler.start()
            load_start = os.getloadavg()
            # First round: every source polled once (each answers 304).
            while fp.control("stats")["feeds_polled"] < n and proc.poll() is None and time.monotonic() - t0 < 300:
                time.sleep(0.2)
            t1 = time.monotonic()
            first = sampler.take()
            db_start = db_size_mb(db)
            print(f"watcher run: first round ({n} polls) done {t1 - t0:.1f} s after start")
            if window:
                span = max(0.0, window - (t1 - t0) - 5 - grace)
                count = args.items if args.items is not None else max(3, int(span // 10) + 1)
            else:
                span, count = 0.0, args.items if args.items is not None else 3
            items = plan_items(count, n, span, RULES)
            unmatched = [i.tag for i in items if not i.channels]
            if unmatched:
                print(f"! added items that no rule matches: {unmatched}")
                ok = False
            print(f"adding {count} items over {span:.0f} s (one every {span / max(1, count - 1):.0f} s), "
                  f"run length {'until delivered' if not window else f'{window / 60:g} min'}")
            for item in items:
                at = t1 + (1 if args.quick else 5) + item.due
                while time.monotonic() < at and proc.poll() is None:
                    time.sleep(min(0.2, max(0.0, at - time.monotonic())))
                pub = {"feed": item.feed, "title": item.title, "link": item.link, "guid": item.guid,
                       "summary": f"<p>{summary_text(item.title)}</p>", "agency": TOPICS[int(item.tag[2:]) % 3][1]}
                item.appeared = fp.control("add", pub)["appeared"]
            end = t0 + window if window else time.monotonic() + 70 + grace
            last = max(i.appeared or 0 for i in items)
            while proc.poll() is None:
                now = time.monotonic()
                deliveries(slack, items)
                if all_delivered(items) and (now >= end or not window):
                    break
                if now >= end and now > last + grace + 30:  # give up on what did not arrive
                    break
                time.sleep(0.5)
            final = sampler.take()
            sampler.stop.set()
            load_end = os.getloadavg()
            stats = fp.control("stats")
            proc.send_signal(signal.SIGTERM)
            _, status, usage = os.wait4(proc.pid, 0)
            err.close()
            wall = time.monotonic() - t0
            code = os.waitstatus_to_exitcode(status)
            messages, other = deliveries(slack, items)
            rejected = len(slack.rejected)
        for a in stats["added"]:
            for item in items:
                if item.guid == a["guid"]:
                    item.served = a["served"]
        polls_db = db_polls(db) - polls_before
        db_end = db_size_mb(db)
    finally:
        fp.close()

    # ---- figures ----------------------------------------------------------------------------
    cpu_total = usage.ru_utime + usage.ru_stime
    polls = stats["requests"]
    samples = [s for s in sampler.samples if first is not None and s.at >= first.at]
    if final is not None and final not in samples:
        samples.append(final)
    steady_polls = final.requests - first.requests if first and final else 0
    steady_cpu = final.cpu - first.cpu if first and final else 0.0
    steady_wall = final.at - first.at if first and final else 0.0
    first_cpu = first.cpu if first else float("nan")
    mid = min(samples, key=lambda s: abs(s.at - (first.at + final.at) / 2)) if samples else None
    rss_peak = usage.ru_maxrss / 1024
    print(f"\nwatcher run, {n} sources at 1m on {hosts} addresses, {args.latency * 1000:.0f} ms per response: "
          f"{wall:.0f} s wall, exit {code}")
    print(f"  load average: {load_start[0]:.2f} at start, {load_end[0]:.2f} at end "
          f"(1-min, 2 cores; mean of samples {sum(s.load1 for s in samples) / max(1, len(samples)):.2f})")
    status_txt = ", ".join(f"{v} x {k}" for k, v in stats["status"].items())
    print(f"  polls: {polls} feed requests ({status_txt}); the watcher's poll_counts: {polls_db}; "
          f"gaps between two polls of a feed: min {stats['gaps']['min'] or 0:.1f} s, median "
          f"{stats['gaps']['median'] or 0:.1f} s, max {stats['gaps']['max'] or 0:.1f} s")
    cpu_poll_all = cpu_total / polls * 1000 if polls else float("nan")
    cpu_poll_steady = steady_cpu / steady_polls * 1000 if steady_polls else float("nan")
    print(f"  CPU: {cpu_total:.1f} s in all (os.wait4) = {cpu_poll_all:.2f} ms per poll; first round "
          f"{first_cpu:.2f} s for {first.requests if first else 0} polls (start-up included); steady part "
          f"{steady_cpu:.1f} s for {steady_polls} polls in {steady_wall:.0f} s = {cpu_poll_steady:.2f} ms per poll, "
          f"{steady_cpu / steady_wall * 100 if steady_wall else 0:.1f}% of one core")
    print(f"  feed server CPU: {final.feed_cpu if final else 0:.1f} s")
    growth = final.rss_mb - first.rss_mb if first and final else float("nan")
    slope = slope_per_hour(samples)
    print(f"  RSS: {first.rss_mb:.1f} MB after the first round, {mid.rss_mb:.1f} MB at the middle, "
          f"{final.rss_mb:.1f} MB at the end ({growth:+.1f} MB, {growth / first.rss_mb * 100:+.1f}%; "
          f"slope {slope:+.1f} MB/h over {len(samples)} samples); peak {rss_peak:.0f} MB; "
          f"threads {final.threads}")
    # The first new item builds the Matcher (on first use) and the first message imports slack_sdk:
    # a one-off step. What happens to RSS after it is what tells growth.
    arrived = [t for i in items for ts in i.arrivals.values() for t in ts]
    later = [s for s in samples if arrived and s.at >= min(arrived) + 10]
    settled = later[0] if later else None
    if settled is not None and final is not None:
        print(f"  RSS after the first delivery (Matcher built, Slack client loaded, {settled.at - t0:.0f} s): "
              f"{settled.rss_mb:.1f} MB -> {final.rss_mb:.1f} MB at the end ({final.rss_mb - settled.rss_mb:+.1f} MB "
              f"in {(final.at - settled.at) / 60:.0f} min; slope {slope_per_hour(later):+.1f} MB/h)")
    print(f"  database + WAL: {db_start:.1f} MB after the first round, {db_end:.1f} MB at the end")

    delays = [min(ts) - i.appeared for i in items for c, ts in i.arrivals.items() if ts and i.appeared]
    waits = [i.served - i.appeared for i in items if i.served and i.appeared]
    to_slack = [min(ts) - i.served for i in items for ts in i.arrivals.values() if ts and i.served]
    expected = sum(len(i.channels) for i in items)
    once = sum(1 for i in items for c in i.channels if len(i.arrivals.get(c, [])) == 1)
    dupes = sum(max(0, len(ts) - 1) for i in items for ts in i.arrivals.values())
    missing = [f"{i.tag}->{c}" for i in items for c in i.channels if not i.arrivals.get(c)]
    stray = [f"{i.tag}->{c}" for i in items for c in i.arrivals if c not in i.channels]
    print(f"  items: {len(items)} appeared, {expected} (item, channel) deliveries expected, {once} delivered "
          f"exactly once, {dupes} duplicates, {len(missing)} missing, {len(stray)} to other channels; "
          f"{messages} Slack messages ({other} naming no added item), {rejected} refused by the Slack server")
    if delays:
        print(f"  delay feed -> Slack: p50 {percentile(delays, 0.5):.1f} s, p95 {percentile(delays, 0.95):.1f} s, "
              f"max {max(delays):.1f} s (waiting for the next poll: p50 {percentile(waits, 0.5):.1f} s, max "
              f"{max(waits, default=0):.1f} s; poll -> Slack: p50 {percentile(to_slack, 0.5):.2f} s, p95 "
              f"{percentile(to_slack, 0.95):.2f} s, max {max(to_slack, default=0):.2f} s)")
    worst = max(stats["max_in_flight"].values(), default=0)
    print(f"  politeness: at most {worst} requests in flight on one address (limit {PER_HOST})")

    if missing or dupes or stray or worst > PER_HOST or code != 0:
        ok = False
        print(f"! failed: missing {missing[:10]}, duplicates {dupes}, stray {stray[:10]}, "
              f"in flight {worst}, exit {code}; log: {log}")
    figures.update({
        "wall_s": wall, "exit": code, "load": {"start": load_start[0], "end": load_end[0],
                                               "mean": sum(s.load1 for s in samples) / max(1, len(samples))},
        "polls": polls, "status": stats["status"], "polls_db": polls_db, "gaps": stats["gaps"],
        "cpu": {"total_s": cpu_total, "per_poll_ms": cpu_poll_all, "first_round_s": first_cpu,
                "steady_s": steady_cpu, "steady_polls": steady_polls, "steady_wall_s": steady_wall,
                "steady_per_poll_ms": cpu_poll_steady},
        "rss_mb": {"start": first.rss_mb, "middle": mid.rss_mb, "end": final.rss_mb, "growth": growth,
                   "slope_mb_per_h": slope, "peak": rss_peak,
                   "after_first_delivery": settled.rss_mb if settled else None,
                   "after_first_delivery_at_s": settled.at - t0 if settled else None,
                   "slope_after_first_delivery_mb_per_h": slope_per_hour(later),
                   "samples": [(round(s.at - t0, 1), round(s.rss_mb, 2)) for s in samples]},
        "db_mb": {"start": db_start, "end": db_end},
        "items": {"appeared": len(items), "expected": expected, "exactly_once": once, "duplicates": dupes,
                  "missing": missing, "stray": stray},
        "delay_s": {"p50": percentile(delays, 0.5), "p95": percentile(delays, 0.95), "max": max(delays, default=0),
                    "wait_p50": percentile(waits, 0.5), "to_slack_p50": percentile(to_slack, 0.5),
                    "to_slack_max": max(to_slack, default=0)},
        "max_in_flight_per_host": worst, "ok": ok,
    })
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1), encoding="utf-8")
    if args.keep:
        print(f"work folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n(bench_steady took {time.perf_counter() - started:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
