"""Which stored announcements the next `once` or poll of `run` matches again after a rules edit:
those whose sort time (published, else first seen) lies within `max_age` of now
(watcher/pipeline/rematch.py). `rules test --diff` marks each line it shows with it.
"""

from __future__ import annotations

import sqlite3

from watcher.store import search as fts
from watcher.store.rows import sort_time


def keys_within(conn: sqlite3.Connection, oldest: int) -> set[tuple[str, str]]:
    """(source, id) of every stored announcement whose sort time is `oldest` (epoch seconds) or later."""
    out = set()
    for source, ann_id, published, first_seen in conn.execute(
            "SELECT source, id, published, first_seen FROM announcements"):
        seconds = fts.sort_seconds(sort_time(published, first_seen))
        if seconds is not None and seconds >= oldest:
            out.add((source, ann_id))
    return out
