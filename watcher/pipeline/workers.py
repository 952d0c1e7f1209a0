"""Parsing, matching and search-index tokenising on every core.

Fetching is I/O and runs in threads; parsing, matching and tokenising are CPU work, which threads
cannot spread over cores (the GIL). `ParsePool` runs them in forked worker processes, each holding
the compiled `Matcher` from the moment it was forked. Workers are forked once, before any thread of the
cycle starts, so no lock held by a thread is copied into a child; the pool is watcher/pipeline/forking.py's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from watcher.errors import SourceError
from watcher.match import guard
from watcher.match.matcher import Matcher
from watcher.models import Announcement, Hit, Source
from watcher.pipeline import forking
from watcher.store.search import IndexDoc, index_doc

if TYPE_CHECKING:  # multiprocessing and ctypes are imported only when workers are forked
    from concurrent.futures import Future, ProcessPoolExecutor

log = logging.getLogger("watcher")
Items = list[tuple[Announcement, list[Hit], IndexDoc]]  # what Store.ingest takes

_matcher: Matcher | None = None  # set in each worker process


def parse_and_match(source: Source, bodies: list[bytes], content_type: str | None, url: str,
                    matcher: Matcher) -> Items:
    """Every body of one poll -> unique announcements with their rule hits and search-index document
    (tokenising here, in a worker, leaves the main process only SQL to run). Raises SourceError."""
    from watcher.parse import parse  # heavy imports (lxml, bs4, feedparser) only when something is parsed

    seen: dict[str, Announcement] = {}
    for body in bodies:
        for ann in parse(source, body, content_type, url):
            seen.setdefault(ann.id, ann)
    return [(ann, guard.match(matcher, ann), index_doc(ann.title, ann.summary, ann.agency)) for ann in seen.values()]


def safe_parse_and_match(source: Source, bodies: list[bytes], content_type: str | None, url: str,
                         matcher: Matcher) -> Items | SourceError:
    """As parse_and_match, but every failure is returned as a SourceError (never raised)."""
    try:
        return parse_and_match(source, bodies, content_type, url, matcher)
    except SourceError as exc:
        return exc
    except Exception as exc:  # a parser bug must not stop the cycle
        log.exception("unexpected error parsing %s", source.id)
        return SourceError("parse", f"unexpected {type(exc).__name__}: {exc}")




def _init(matcher: Matcher) -> None:
    global _matcher
    _matcher = matcher


def _job(source: Source, bodies: list[bytes], content_type: str | None, url: str
         ) -> tuple[Items | SourceError, list[guard.Timeout]]:
    """In a worker: the outcome, and the regex timeouts it met (sent back to be recorded)."""
    assert _matcher is not None
    return safe_parse_and_match(source, bodies, content_type, url, _matcher), guard.timeouts()


def _ready() -> int:
    return os.getpid()


class ParsePool:
    """A fork-based process pool for parse + match, or None-like when one core is all there is."""

    def __init__(self, matcher: Matcher, workers: int | None = None, kinds: Iterable[str] = ()) -> None:
        """`kinds`: the source kinds about to be parsed; their parsers are imported, and the matcher
        built, before the fork, so the workers share that work instead of each doing it again."""
        count = workers if workers is not None else forking.cores()
        self.executor: ProcessPoolExecutor | None = None
        if not forking.may_fork(count, threads_allowed=True):  # forked before the cycle's threads start
            return
        from watcher.parse import parser

        for kind in set(kinds):
            parser(kind)
        matcher.prepare()
        self.executor = forking.pool(count, _init, (matcher,))
        # fork every worker now, while this process has no other threads
        for future in [self.executor.submit(_ready) for _ in range(count)]:
            future.result()

    def submit(self, source: Source, bodies: list[bytes], content_type: str | None,
               url: str) -> Future[tuple[Items | SourceError, list[guard.Timeout]]]:
        assert self.executor is not None
        return self.executor.submit(_job, source, bodies, content_type, url)

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
