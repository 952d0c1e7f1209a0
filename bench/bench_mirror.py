"""Ingest of items whose timestamps collide with stored ones (one call mirrored by a second source).

    .venv/bin/python bench/bench_mirror.py [--quick] [--n 10000]

Source "first" stores N items one second apart; source "mirror" then stores N items with the same
N timestamps, so every docid it wants is taken. Docid allocation must stay linear: the mirrored
ingest within 2x of the first (it was 29 s for 10k, 83 s for 20k before the allocator skipped blocks).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from watcher.models import Announcement, Source
from watcher.store import KST, Store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 items")
    ap.add_argument("--n", type=int, default=10_000, help="items per source (default 10,000)")
    args = ap.parse_args()
    n = 2000 if args.quick else args.n
    base, now = datetime(2026, 11, 1, 9, 0, tzinfo=KST), datetime(2026, 11, 20, tzinfo=KST)
    with tempfile.TemporaryDirectory() as work:
        store = Store(Path(work) / "w.db")
        took = {}
        for source in ("first", "mirror"):
            items = [(Announcement(source=source, id=f"{source}-{k}", title=f"공고 {k}",
                                   link=f"https://x.kr/{source}/{k}",
                                   published=(base + timedelta(seconds=k)).isoformat()), []) for k in range(n)]
            started = time.perf_counter()
            store.ingest(Source(id=source, url="https://x.kr/"), items, now, 60 * 86_400.0)
            took[source] = time.perf_counter() - started
        store.close()
    ratio = took["mirror"] / took["first"]
    print(f"{n:,} items alone: {took['first']:.2f} s; {n:,} mirrored (same timestamps): {took['mirror']:.2f} s "
          f"-> {ratio:.2f}x (goal <= 2x)")


if __name__ == "__main__":
    main()
