"""Reading the whole call: the detail page and the attachments of each new announcement.

For a source with `detail:` (docs/CONFIG.md § detail), each announcement a poll brings new, and that
may still be alerted (published within max_age, or undated after the source's first poll; deadline
not passed), at most MAX_READS a poll, newest first, is read in the cycle's threads:
  1. its detail page (the announcement's link, on the source's own site): text, period, file links;
  2. its files: those the API lists (any address it gives) and those the page links (its own site
     only), one per document (`공고문.hwp` over `공고문.pdf` and `공고문.odt`), forms and unreadable
     types listed but never read, at most `max_files`, 공고문 first (watcher/extract/choose.py);
  3. each file's text in a forked child bounded in time, memory and output (watcher/extract/): a
     file that fails costs only itself, its error kept with it (shown by `watcher status`);
  4. the deadline when the list has none: the page's period (when the page has one, it decides),
     else the page's text, else each 공고문 in turn (never a form, a result list or a manual);
  5. the alert's lines (watcher/notify/callinfo.py).
Then, in the main thread, the reading is stored, the call matched again with `body` and
`attachments` and stored like a poll's item (new hits queue alerts; an alert already queued gains
them), and its alerts are released (dropped, never sent, when the 공고문 shows the call closed). An
alert that matched on the title waits for the reading at most `detail.wait` (held in the outbox),
never longer. Every request is a poll's: the source's timeout, size cap and headers, the cycle's
per-host limit.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import asdict, dataclass, field, replace
from dataclasses import fields as dataclass_fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from watcher.clock import KST
from watcher.errors import SourceError
from watcher.fetch.detail import Limiter, download, same_site
from watcher.fetch.session import Session
from watcher.models import Announcement, CallText, Source
from watcher.parse.dates import deadline_from_text, parse_date, parse_period
from watcher.parse.detail import MAX_TEXT, read_page, tidy

if TYPE_CHECKING:
    from watcher.match.matcher import Matcher
    from watcher.store import Store

log = logging.getLogger("watcher")
MAX_READS = 20  # calls read per poll of one source (a first poll may bring many)
READABLE = ("hwp", "hwpx", "pdf")
PREFERENCE = {"hwp": 0, "hwpx": 1, "pdf": 2}  # one document offered in several types: read this one
UNREADABLE = frozenset({"zip", "odt", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "jpg", "jpeg", "png", "gif",
                        "bmp", "txt", "hwt", "egg", "7z", "rar", "alz", "mp4", "avi", "csv", "html", "htm"})


@dataclass
class FileRead:
    """One attachment of a call: as listed, and what reading it gave (nothing for one not read)."""

    name: str
    url: str
    type: str | None = None  # what the bytes are (hwp, hwpx, pdf), else what the name says
    size: int | None = None
    chars: int | None = None
    error: str | None = None  # one line, `stage: detail`
    note: str = ""  # why not read, or why the text is partial
    text: str | None = None


@dataclass
class Reading:
    """What reading one call found."""

    source: str
    ann: Announcement
    body: str = ""
    period: str | None = None
    files: list[FileRead] = field(default_factory=list)
    error: str | None = None  # the detail page's, one line
    deadline: str | None = None  # found by reading (the list had none)
    deadline_from: str | None = None  # `period`, `body` or the file's name
    info: dict[str, tuple[str, str]] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {"body": self.body, "period": self.period, "deadline": self.deadline,
                "deadline_from": self.deadline_from, "info": self.info, "error": self.error}

    def call_text(self) -> CallText:
        """The announcement with its body and attachments (what rules with those fields match)."""
        given = {f.name: getattr(self.ann, f.name) for f in dataclass_fields(Announcement)}
        given["deadline"] = given["deadline"] or self.deadline
        return CallText(**given, body=self.body, attachments="\n".join(f.text for f in self.files if f.text))


def _limits(source: Source) -> Any:
    from watcher.extract import Limits

    return Limits(max_chars=MAX_TEXT, max_bytes=source.max_bytes)


def read_call(source: Source, ann: Announcement, session: Session, limiter: Limiter | None = None,
              now: datetime | None = None, stop: threading.Event | None = None) -> Reading:
    """Read one call (see the module docstring); never raises: every failure is kept as a line.
    `stop` set (the watcher is ending) skips the files not read yet."""
    reading = Reading(source.id, ann)
    try:
        _read(source, ann, session, limiter, reading, now, stop)
    except Exception as exc:  # a bug must cost this call's reading only
        log.exception("%s: reading %s failed", source.id, ann.link or ann.id)
        reading.error = reading.error or f"detail: unexpected {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    return reading


def _read(source: Source, ann: Announcement, session: Session, limiter: Limiter | None, reading: Reading,
          now: datetime | None, stop: threading.Event | None) -> None:
    detail = source.detail
    assert detail is not None
    links = [(name, url, True) for name, url in ann.files]  # the API's own: any address it gives
    if detail.page and ann.link:
        if not same_site(source.url, ann.link):
            reading.error = "detail: the link is not on the source's site; page not read"
        else:
            try:
                got = download(session, source, ann.link, limiter)
                page = read_page(detail, got.body, got.content_type, got.url, source.encoding)
                reading.body, reading.period = page.body, page.period
                links += [(f.name, f.url, same_site(source.url, f.url)) for f in page.files]
            except SourceError as exc:
                reading.error = str(exc)
    reading.files = _files(links)
    for item in _picked(reading.files, detail.max_files):
        if stop is not None and stop.is_set():
            item.note = "not read: the watcher was stopping"
            continue
        _read_file(source, session, limiter, item)
    _deadline(reading, now)
    _info(reading)


def _files(links: list[tuple[str, str, bool]]) -> list[FileRead]:
    """The call's files (name, url, may be fetched), once each, marked with why one will not be read."""
    from watcher.extract import is_form, kind_from_name

    out: list[FileRead] = []
    seen: set[str] = set()
    for name, url, allowed in links:
        if url in seen:
            continue
        seen.add(url)
        item = FileRead(name, url, type=_extension(name) or None)
        kind = kind_from_name(name)
        if not allowed:
            item.note = "not read: not on the source's site"
        elif item.type in UNREADABLE:
            item.note = f"not read: .{item.type}"
        elif is_form(name):
            item.note = "form: not read"
        elif kind is None and item.type:
            item.note = f"not read: .{item.type}"
        out.append(item)
    _one_per_document(out)
    return out


def _extension(name: str) -> str:
    ext = os.path.splitext(name)[1].lower().lstrip(".")
    return ext if ext.isalnum() and len(ext) <= 5 else ""


def _one_per_document(files: list[FileRead]) -> None:
    """A document offered as .hwp, .hwpx and .pdf is read once, in the preferred type."""
    best: dict[str, FileRead] = {}
    for item in files:
        if item.note or item.type not in PREFERENCE:
            continue
        stem = os.path.splitext(item.name)[0].strip()
        kept = best.get(stem)
        if kept is None or PREFERENCE[item.type] < PREFERENCE[kept.type or ""]:
            if kept is not None:
                kept.note = f"not read: the same as {item.name}"
            best[stem] = item
        else:
            item.note = f"not read: the same as {kept.name}"


def _picked(files: list[FileRead], limit: int) -> list[FileRead]:
    """Up to `limit` files to read, 공고문 first (watcher/extract/choose.py); the rest say why not."""
    from watcher.extract import pick_attachments

    candidates = [f for f in files if not f.note]
    names = pick_attachments([f.name for f in candidates], limit)
    picked: list[FileRead] = []
    for name in names:
        item = next(f for f in candidates if f.name == name and f not in picked)
        picked.append(item)
    for item in candidates:
        if item not in picked:
            item.note = f"not read: over max_files {limit}"
    return picked


def _read_file(source: Source, session: Session, limiter: Limiter | None, item: FileRead) -> None:
    from watcher.extract import extract

    try:
        got = download(session, source, item.url, limiter)
    except SourceError as exc:
        item.error = str(exc)
        return
    if not os.path.splitext(item.name)[1] and got.filename:
        item.name = got.filename
    result = extract(got.body, item.name, _limits(source))
    item.size, item.type = len(got.body), result.kind or item.type
    item.error, item.note = result.error or None, result.note
    if result.ok:
        item.text = tidy(result.text)
        item.chars = len(item.text)


def _deadline(reading: Reading, now: datetime | None) -> None:
    """The deadline when the list gave none: the page's period decides when it has one; else the
    page's text; else each 공고문 read, in the order read."""
    from watcher.extract import may_give_deadline

    ann = reading.ann
    if ann.deadline:
        return
    ref = parse_date(ann.published) or now
    if reading.period:
        reading.deadline = parse_period(reading.period, ref)
        reading.deadline_from = "period" if reading.deadline else None
        return
    found = deadline_from_text(reading.body, ref)
    if found:
        reading.deadline, reading.deadline_from = found, "body"
        return
    for item in reading.files:
        if item.text and may_give_deadline(item.name):
            found = deadline_from_text(item.text, ref)
            if found:
                reading.deadline, reading.deadline_from = found, item.name
                return


def _info(reading: Reading) -> None:
    from watcher.extract import may_give_deadline
    from watcher.notify.callinfo import call_info

    texts = [reading.body, *(f.text for f in reading.files if f.text and may_give_deadline(f.name))]
    reading.info = call_info(t for t in texts if t)
    if "period" not in reading.info and reading.period:
        reading.info = {"period": ("접수기간", reading.period), **reading.info}


# ---- in the cycle -------------------------------------------------------------------------------

def worth_reading(ann: Announcement, now: datetime, max_age: float, first_poll: bool) -> bool:
    """May this new announcement still be alerted (so reading it can change what the team hears)?"""
    if ann.deadline and ann.deadline[:10] < now.date().isoformat():
        return False
    published = parse_date(ann.published)
    if published is None:
        return not first_poll  # the first poll's undated items are its baseline
    return published >= now - timedelta(seconds=max_age)


class Reader:
    """The readings of one cycle: started after a poll is stored, recorded in the main thread."""

    def __init__(self, pool: Executor, session: Session, limiter: Limiter, store: Store,
                 clock: Callable[[], datetime]) -> None:
        self.pool, self.session, self.limiter, self.store, self.clock = pool, session, limiter, store, clock
        self.running: dict[Future[Reading], Source] = {}
        self.held_until = 0.0  # monotonic time the last held alert is due anyway
        self._holds: list[float] = []  # monotonic times held alerts fall due (for `run`'s delivery)
        self._new: dict[str, tuple[set[str], bool]] = {}
        self._stop = threading.Event()
        self.done: dict[str, list[int]] = {}  # source id -> [calls read, alerts their reading queued]

    def prepare(self, source: Source, items: list[Any]) -> list[Any]:
        """Before a poll of `source` is stored: deadlines that reading found stay (the list still has
        none); remember which items are new."""
        if source.detail is None or not items:
            return items
        ids = [item[0].id for item in items]
        first = not self.store.source_state(source.id).get("first_polled")
        self._new[source.id] = (self.store.unknown_ids(source.id, ids), first)
        kept = self.store.read_deadlines(source.id, [item[0].id for item in items if not item[0].deadline])
        if not kept:
            return items
        return [(replace(item[0], deadline=kept[item[0].id]), *item[1:])
                if not item[0].deadline and item[0].id in kept else item for item in items]

    def start(self, source: Source, items: list[Any], now: datetime, max_age: float) -> int:
        """After the poll is stored: read its new items worth reading; their alerts wait for it. -> started."""
        new, first = self._new.pop(source.id, (set(), False))
        if source.detail is None or not new:
            return 0
        anns = [item[0] for item in items if item[0].id in new and worth_reading(item[0], now, max_age, first)]
        anns.sort(key=lambda a: a.published or "", reverse=True)
        anns = anns[:MAX_READS]
        if not anns:
            return 0
        if source.detail.wait > 0:
            if self.store.hold_alerts(source.id, [a.id for a in anns], now + timedelta(seconds=source.detail.wait)):
                self._holds.append(time.monotonic() + source.detail.wait)
            self.held_until = max(self.held_until, time.monotonic() + source.detail.wait)
        for ann in anns:
            self.running[self.pool.submit(read_call, source, ann, self.session, self.limiter, now, self._stop)] = source
        return len(anns)

    @property
    def pending(self) -> bool:
        return bool(self.running)

    def hold_ended(self) -> bool:
        """Has a held alert fallen due since last asked (its reading was slower than its wait)?"""
        now = time.monotonic()
        ended = [t for t in self._holds if t <= now]
        self._holds = [t for t in self._holds if t > now]
        return bool(ended)

    def stop(self) -> None:
        """The cycle ends: readings in flight skip the files they have not fetched yet."""
        self._stop.set()

    def collect(self, matcher: Matcher, max_age: float, until: float | None = 0.0) -> int:
        """Record the readings done; wait for the others until monotonic time `until` (0: no wait,
        None: all). -> alerts queued or released (due now)."""
        queued = 0
        while self.running:
            left = None if until is None else max(0.0, until - time.monotonic())
            done = [f for f in self.running if f.done()]
            if not done and left != 0.0:
                done = list(wait(list(self.running), left, FIRST_COMPLETED)[0])
            if not done:
                break
            for future in done:
                source = self.running.pop(future)
                try:
                    queued += self.record(source, future.result(), matcher, max_age)
                except Exception as exc:  # one reading's store error is not the cycle's
                    if type(exc).__module__ == "sqlite3":
                        raise
                    log.error("%s: storing a reading failed: %s", source.id, exc)
        return queued

    def record(self, source: Source, reading: Reading, matcher: Matcher, max_age: float) -> int:
        """Main thread: store the reading, match the call again with its texts, release its alerts.
        -> alerts queued or released."""
        now = self.clock()
        with self.store.transaction():
            self.store.save_reading(source.id, reading.ann.id, reading.row(), [asdict(f) for f in reading.files],
                                    now)
            call = reading.call_text()
            result = self.store.ingest(source, [(call, matcher.match(call))], now, max_age)
            if call.deadline and call.deadline < now.astimezone(KST).date().isoformat():
                self.store.drop_alerts(source.id, [reading.ann.id])  # closed: never alerted (README § Alerts)
            released = self.store.release_alerts(source.id, [reading.ann.id])
        counts = self.done.setdefault(source.id, [0, 0])
        counts[0], counts[1] = counts[0] + 1, counts[1] + result.alerts_queued
        failed = [f"{f.name}: {f.error}" for f in reading.files if f.error]
        if reading.error or failed:
            log.warning("%s: reading %s: %s", source.id, reading.ann.link or reading.ann.id,
                        "; ".join(([reading.error] if reading.error else []) + failed))
        return result.alerts_queued + released
