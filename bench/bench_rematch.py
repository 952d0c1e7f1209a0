"""Time a rules edit taking effect on 100,000 stored announcements x 50 rules (watcher/rematch.py).

Run: .venv/bin/python bench/bench_rematch.py [--n 100000] [--quick] [--db bench/out/rematch.db]

Set-up (not timed): a fresh SQLite store in a temp folder gets N synthetic announcements of
bench_match.py within max_age (each one read again at every edit), and N/16 more a day beyond it,
ingested under the 50 rules of bench_match.py, those rules recorded as in force, their alerts
marked sent. CPU figures are this process's and its forked workers' (from 20,000 stored items the
matching runs in one worker per core, when the process has no other thread).
Timed: `apply_rules` after an edit that adds one keyword to one rule (every stored row read and
screened for the added keyword, those holding it matched again under that rule, the changed
matches rewritten, new alerts queued, the rules recorded), then after an edit of every rule (a
`none` keyword added to all 50: rows screened for it), then after that exclusion is taken back
from all 50 (a widening edit of every rule: every row screened under all 50 rules and those that
may match matched again under all of them: the cost of a whole re-match), then after max_age grew
by a day (only the announcements of that day are matched again), then once more with nothing
changed. See watcher/rulediff.py for which rows an edit reaches.
Goal: under 5 s for each edit at 100,000.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_match import make_announcements, make_rules  # noqa: E402

from watcher.match.matcher import Matcher  # noqa: E402
from watcher.models import Config, RuleSet, Source  # noqa: E402
from watcher.pipeline.rematch import apply_rules  # noqa: E402
from watcher.store import KST, Store  # noqa: E402

GOAL = 5.0
NOW = datetime.now(KST).replace(microsecond=0)


def set_up(store: Store, anns: list, sources: tuple[Source, ...], rules: RuleSet) -> None:
    """The announcements ingested under `rules`, their alerts delivered (as a running watcher would)."""
    matcher = Matcher(rules)
    by_source: dict[str, list] = {}
    for a in anns:
        by_source.setdefault(a.source, []).append(a)
    for source in sources:
        items = by_source.get(source.id, [])
        for i in range(0, len(items), 5000):
            store.ingest(source, [(a, matcher.match(a)) for a in items[i:i + 5000]], NOW, rules.max_age)
    with store.transaction() as conn:
        conn.execute("UPDATE alerts SET status = 'sent', sent_at = created_at")


def _cpu() -> float:
    """CPU seconds of this process and of its reaped children (the forked workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="stored announcements (default 100000)")
    ap.add_argument("--quick", action="store_true", help="10,000 announcements")
    ap.add_argument("--db", type=Path, help="keep the set-up here and reuse it next time (same --n)")
    args = ap.parse_args()
    n = 10_000 if args.quick else args.n
    rng = random.Random(20261201)
    # n within the last 10 days, and n/16 more 14 to 15 days old (outside max_age until it grows)
    ages = [rng.randint(10, 10 * 24 * 60) for _ in range(n)] + [rng.randint(14 * 1440 + 10, 15 * 1440 - 10)
                                                                  for _ in range(n // 16)]
    anns = [replace(a, published=(NOW - timedelta(minutes=age)).isoformat())
            for a, age in zip(make_announcements(len(ages), rng), ages, strict=True)]
    rules = replace(make_rules(rng), max_age=14 * 86400)
    sources = tuple(Source(id=s, url=f"http://127.0.0.1/{s}.xml") for s in sorted({a.source for a in anns}))
    before = Config(sources=sources, rules=rules, rules_text="before")
    edited_rule = replace(rules.rules[0], any=(*rules.rules[0].any, "판로개척"))  # one keyword more
    after = Config(sources=sources, rules=replace(rules, rules=(edited_rule, *rules.rules[1:])), rules_text="after")
    every = replace(after, rules=replace(after.rules, rules=tuple(replace(r, none=(*r.none, "모집취소"))
                                                              for r in after.rules.rules)), rules_text="every")
    back = replace(after, rules_text="back")
    longer = replace(back, rules=replace(back.rules, max_age=15 * 86400), rules_text="longer")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        if args.db and args.db.exists():  # the set-up of an earlier run (same --n), copied
            shutil.copy(args.db, path)
        store = Store(path)
        apply_rules(store, before, NOW)  # fresh store: records the rules in force
        t0, reused = time.perf_counter(), bool(args.db and args.db.exists())
        if not reused:
            set_up(store, anns, sources, rules)
            if args.db:
                store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                args.db.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, args.db)
        matches = store.conn.execute("SELECT count(*) FROM matches").fetchone()[0]
        print(f"set-up: {n:,} + {len(anns) - n:,} announcements, {len(rules.rules)} rules, {matches:,} matches stored "
              + (f"(copied from {args.db})" if reused else f"in {time.perf_counter() - t0:.1f} s"))


        results = []
        for label, cfg in (("one keyword added to one rule", after),
                           ("an exclusion added to every rule (50)", every),
                           ("that exclusion taken back from all 50 (whole re-match)", back),
                           ("max_age 14d -> 15d", longer)):
            t1, c1 = time.perf_counter(), _cpu()
            report = apply_rules(store, cfg, NOW)
            assert report is not None
            results.append((label, report, time.perf_counter() - t1, _cpu() - c1))
        t2 = time.perf_counter()
        again = apply_rules(store, longer, NOW)
        unchanged = time.perf_counter() - t2
        store.close()
    worst = 0.0
    for label, report, wall, cpu in results:
        worst = max(worst, wall * 100_000 / n)
        print(f"{label}: {wall:.2f} s wall / {cpu:.2f} s CPU, {report.checked:,} read again "
              f"({1e6 * wall / max(report.checked, 1):.1f} us each), {report.changed:,} changed, "
              f"{report.alerts_queued:,} alerts queued")
    print(f"same rules again: {1000 * unchanged:.1f} ms (nothing matched again: {again is None})")
    verdict = "ok" if worst < GOAL else "OVER"
    print(f"goal: < {GOAL:.0f} s at 100,000 -> worst {worst:.2f} s{' (scaled)' if n != 100_000 else ''}: {verdict}")
    return 0 if worst < GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
