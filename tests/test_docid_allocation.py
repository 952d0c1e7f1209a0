"""Docid allocation stays linear in the items however their timestamps collide with stored ones."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from watcher.models import Announcement, Source
from watcher.store import KST, Store

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=KST)
BASE = datetime(2026, 11, 1, 9, 0, tzinfo=KST)
N = 2000


def items(source: str) -> list:
    return [(Announcement(source=source, id=f"{source}-{k}", title=f"공고 {k}", link=f"https://x.kr/{source}/{k}",
                          published=(BASE + timedelta(seconds=k)).isoformat()), []) for k in range(N)]


def vm_work(store: Store, source: str) -> int:
    """SQLite virtual-machine steps (in units of 1,000) one ingest takes: the work done, not the time."""
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    store.conn.set_progress_handler(tick, 1000)
    try:
        store.ingest(Source(id=source, url="https://x.kr/"), items(source), NOW, 60 * 86_400.0)
    finally:
        store.conn.set_progress_handler(None, 1000)
    return steps[0]


def test_mirrored_items_cost_at_most_twice_the_first_copy(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    alone = vm_work(store, "first")
    mirrored = vm_work(store, "mirror")  # the same 2,000 per-second timestamps, all taken by "first"
    assert mirrored <= 2 * alone, (alone, mirrored)


def test_mirrored_items_get_distinct_docids_just_below_the_stored_block(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    vm_work(store, "first")
    vm_work(store, "mirror")
    docids = [r[0] for r in store.conn.execute("SELECT docid FROM announcements ORDER BY docid")]
    assert len(set(docids)) == 2 * N
    firsts = {r[0] for r in store.conn.execute("SELECT docid FROM announcements WHERE source = 'first'")}
    mirrors = [r[0] for r in store.conn.execute("SELECT docid FROM announcements WHERE source = 'mirror'")]
    assert max(mirrors) < min(firsts)  # "a later second": below the block, newest-first order kept
