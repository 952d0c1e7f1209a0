"""HTTP for sources: one polite request per poll.

- one `Session` (watcher/httpclient.py: keep-alive connections per host), a `User-Agent` naming
  the product;
- `timeout` bounds the whole request (connect, headers, body), not each socket call: at the
  deadline one watchdog thread shuts the request's socket down, so even a server trickling its
  headers is cut there;
- bodies are streamed and refused past `max_bytes` (nothing is stored from a refused body);
- conditional GET: the ETag / Last-Modified of the last good body are sent back, 304 means
  "not modified"; a 200 whose body hashes like the last one is "unchanged" (no re-parse);
- 429 / 503 report the `Retry-After` the server asked for.
"""

from __future__ import annotations

import email.utils
import hashlib
import heapq
import http.client
import itertools
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from watcher import __version__
from watcher.clock import now_kst
from watcher.errors import FetchError
from watcher.fetch.httpclient import Response, Session, TooManyRedirects
from watcher.fetch.request import encoded_body, prepared
from watcher.models import Source

USER_AGENT = f"gongmo-watcher/{__version__} (public-call watcher; polite polling)"
CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchState:
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass
class FetchResult:
    status: Literal["ok", "not_modified", "unchanged"]
    url: str
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    more_bodies: list[bytes] = field(default_factory=list)  # further pages (json paging)


class _Watchdog:
    """One thread for every deadline of the process: it sleeps until the earliest one, and expires
    those not finished by then (a finished request only sets a flag; its heap entry lapses)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline.ends, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                _, _, deadline = heapq.heappop(self._heap)
            if not deadline.finished:
                deadline.expire()


_WATCHDOG = _Watchdog()


class Deadline:
    """The end of one whole request: when `timeout` has passed, the watchdog shuts down the socket
    the request uses (the blocked read returns at once); `expired` then tells why it failed."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.started = time.monotonic()
        self.ends = self.started + timeout
        self.expired = self.finished = False
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def attach(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._conn, expired = conn, self.expired
        if expired:
            _shut(conn)

    def expire(self) -> None:
        with self._lock:
            if self.finished:
                return
            self.expired, conn = True, self._conn
        if conn is not None:
            _shut(conn)

    def __enter__(self) -> Deadline:
        _WATCHDOG.watch(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.finished = True


def _shut(conn: http.client.HTTPConnection) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def make_session(pool_size: int = 32) -> Session:
    return Session(pool_size, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate",
                                       "Accept": "*/*"})


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date. None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


def body_hash(*bodies: bytes) -> str:
    digest = hashlib.sha256()
    for body in bodies:
        digest.update(hashlib.sha256(body).digest())
    return digest.hexdigest()


def _get(session: Session, source: Source, url: str, headers: dict[str, str], deadline: Deadline,
         send: tuple[bytes, str] | None = None) -> Response:
    """GET `url`, or POST the `send` (body, content type) of watcher/fetch/request.py."""
    try:
        if send is not None:
            return session.request("POST", url, {**headers, "Content-Type": send[1]}, source.timeout, send[0],
                                   on_connection=deadline.attach)
        return session.get(url, headers, source.timeout, on_connection=deadline.attach)
    except (OSError, http.client.HTTPException, TooManyRedirects) as exc:
        raise _fetch_error(exc, source, url, deadline) from None


def _fetch_error(exc: BaseException, source: Source, url: str, deadline: Deadline) -> FetchError:
    if deadline.expired or isinstance(exc, TimeoutError):
        return FetchError(f"timeout after {source.timeout:g}s")
    if type(exc).__module__ == "ssl":  # ssl.SSLError, ssl.CertificateError (ssl is imported only for https)
        return FetchError(f"TLS error: {_short(exc)}")
    if isinstance(exc, TooManyRedirects):
        return FetchError(_short(exc))
    if isinstance(exc, OSError) and exc.strerror:
        return FetchError(f"connection failed: {exc.strerror} ({urlsplit(url).netloc})")
    return FetchError(f"connection failed: {_short(exc)} ({urlsplit(url).netloc})")


def _read(response: Response, source: Source, deadline: Deadline) -> bytes:
    """Stream the body within the size cap and the request's deadline."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > source.max_bytes:
        response.close()
        raise FetchError(f"body of {int(length)} bytes exceeds max_bytes {source.max_bytes}")
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            # read1: whatever has arrived (up to CHUNK), so a slow trickle still meets the deadline
            chunk = response.read1(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > source.max_bytes:
                raise FetchError(f"body exceeds max_bytes {source.max_bytes}")
            if time.monotonic() - deadline.started > source.timeout:
                raise FetchError(f"timeout after {source.timeout:g}s")
            chunks.append(chunk)
        if deadline.expired:  # the socket was shut down under the read: a body cut at the deadline
            raise FetchError(f"timeout after {source.timeout:g}s")
    except (OSError, http.client.HTTPException, ValueError) as exc:  # ValueError: a body that does not decode
        if "timed out" in str(exc).lower() or isinstance(exc, TimeoutError) or deadline.expired:
            raise FetchError(f"timeout after {source.timeout:g}s") from None
        raise FetchError(f"body cut off: {_short(exc)}") from None
    finally:
        response.close()
    return b"".join(chunks)


def _open_session(session: Session, source: Source, deadline: Deadline) -> None:
    """GET the source's `session_url`; the cookies it sets stay in the session for the list request."""
    try:
        response = _get(session, source, source.session_url or "", dict(source.headers), deadline)
        _check_status(response)
        _read(response, source, deadline)
    except FetchError as exc:
        raise FetchError(f"session_url: {exc.detail}", exc.retry_after) from None


def _check_status(response: Response) -> None:
    code = response.status_code
    if code in (429, 503):
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        response.close()
        hint = f", retry after {wait:g}s" if wait is not None else ""
        raise FetchError(f"HTTP {code}{hint}", retry_after=wait)
    if code >= 400:
        response.close()
        raise FetchError(f"HTTP {code} {response.reason or ''}".strip())


def fetch(session: Session, source: Source, state: FetchState | None = None) -> FetchResult:
    """One poll of `source`. Raises FetchError (`fetch: ...`) for every failure."""
    state = state or FetchState()
    source = prepared(source, now_kst())  # `{today…}` filled, for this poll (watcher/fetch/request.py)
    headers = dict(source.headers)
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    with Deadline(source.timeout) as deadline:
        if source.session_url:  # the first request of a board that sets its session cookie there
            _open_session(session, source, deadline)
        response = _get(session, source, source.url, headers, deadline, encoded_body(source))
        if response.status_code == 304:
            response.close()
            return FetchResult("not_modified", response.url, etag=state.etag, last_modified=state.last_modified,
                               body_hash=state.body_hash)
        _check_status(response)
        body = _read(response, source, deadline)
    result = FetchResult(
        "ok",
        response.url,
        body=body,
        content_type=response.headers.get("Content-Type"),
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )
    if source.paging:
        result.more_bodies = _more_pages(session, source, body)
    result.body_hash = body_hash(body, *result.more_bodies)
    if state.body_hash and result.body_hash == state.body_hash:
        result.status = "unchanged"
    return result


def with_query(url: str, **params: str) -> str:
    """`url` with the given query parameters set (others kept in order)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query, safe=":/@$,;")))


def _more_pages(session: Session, source: Source, first: bytes) -> list[bytes]:
    """For APIs listing oldest first, the newest items sit on the last pages: fetch those too."""
    from watcher.parse.jsonapi import total_count

    paging = source.paging or {}
    if paging.get("order", "newest-first") != "oldest-first":
        return []
    total = total_count(source, first)
    size_param, page_param = paging.get("size"), paging.get("page")
    if not total or not page_param:
        return []
    size = 10
    if size_param:
        current = dict(parse_qsl(urlsplit(source.url).query)).get(size_param)
        size = int(current) if current and current.isdigit() else size
    last = max(1, -(-total // size))
    max_pages = int(paging.get("max_pages", 2))
    pages = [p for p in range(last, max(1, last - max_pages + 1) - 1, -1) if p != 1]
    bodies = []
    for page in pages:
        url = with_query(source.url, **{page_param: str(page)})
        with Deadline(source.timeout) as deadline:
            response = _get(session, source, url, dict(source.headers), deadline)
            _check_status(response)
            bodies.append(_read(response, source, deadline))
    return bodies


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]

