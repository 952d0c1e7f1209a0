"""HTTP for sources: one polite request per poll (transport: watcher/fetch/session.py, on requests).

- one `requests.Session` per process (keep-alive pools per host), a `User-Agent` naming the product;
- `timeout` bounds the whole request (connect, headers, body, every redirect), not each socket call
  (session.Deadline: a watchdog thread shuts the request's socket down at the deadline);
- bodies are streamed and refused past `max_bytes` (decoded size; nothing is stored from a refused
  body); a body cut short (Content-Length, chunked framing, gzip/deflate/br end marker) is an error,
  so the validators of the last good body are kept;
- conditional GET: the ETag / Last-Modified of the last good body are sent back, 304 means
  "not modified"; a 200 whose body hashes like the last one is "unchanged" (no re-parse);
- POST lists (a form or JSON body) and a `session_url` whose cookies the list request needs
  (watcher/fetch/request.py);
- 429 / 503 report the `Retry-After` the server asked for;
- every failure is one `FetchError` line for that source, never an exception escaping the poll.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from watcher.clock import now_kst
from watcher.errors import FetchError
from watcher.fetch.request import encoded_body, prepared
from watcher.fetch.session import CHUNK, USER_AGENT, Deadline, Session, discard, make_session, open_url, read_body
from watcher.models import Source

__all__ = ["CHUNK", "USER_AGENT", "FetchResult", "FetchState", "Session", "body_hash", "fetch", "make_session",
           "retry_after_seconds", "with_query"]

log = logging.getLogger(__name__)


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
         send: tuple[bytes, str] | None = None) -> requests.Response:
    """GET `url`, or POST the `send` (body, content type) of watcher/fetch/request.py. The source's own
    headers go only to its own host (watcher/fetch/session.py); the others (validators) to every hop."""
    own = {k: v for k, v in headers.items() if k in source.headers}
    extra = {k: v for k, v in headers.items() if k not in source.headers}
    if send is not None:
        return open_url(session, url, own, deadline, {**extra, "Content-Type": send[1]}, "POST", send[0])
    return open_url(session, url, own, deadline, extra)


def _read(response: requests.Response, source: Source, deadline: Deadline) -> bytes:
    """The body, decoded, within the source's size cap and the request's deadline (FetchError else)."""
    return read_body(response, source.max_bytes, deadline)


def _open_session(session: Session, source: Source, deadline: Deadline) -> None:
    """GET the source's `session_url`; the cookies it sets stay in the session for the list request."""
    try:
        response = _get(session, source, source.session_url or "", dict(source.headers), deadline)
        _check_status(response, deadline)
        _read(response, source, deadline)
    except FetchError as exc:
        raise FetchError(f"session_url: {exc.detail}", exc.retry_after) from None


def _check_status(response: requests.Response, deadline: Deadline | None = None) -> None:
    code = response.status_code
    if code in (429, 503):
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        discard(response, deadline)
        hint = f", retry after {wait:g}s" if wait is not None else ""
        raise FetchError(f"HTTP {code}{hint}", retry_after=wait)
    if code >= 400:
        discard(response, deadline)
        raise FetchError(f"HTTP {code} {response.reason or ''}".strip())


def fetch(session: Session, source: Source, state: FetchState | None = None) -> FetchResult:
    """One poll of `source`. Raises FetchError (`fetch: ...`) for every failure, never anything else:
    a transport surprise costs this source only, never the cycle."""
    try:
        return _fetch(session, source, state or FetchState())
    except FetchError:
        raise
    except Exception as exc:  # noqa: BLE001
        log.warning("fetch of %s failed unexpectedly", source.id, exc_info=True)
        raise FetchError(f"unexpected {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
                         ) from None


def _fetch(session: Session, source: Source, state: FetchState) -> FetchResult:
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
            discard(response, deadline)
            return FetchResult("not_modified", response.url, etag=state.etag, last_modified=state.last_modified,
                               body_hash=state.body_hash)
        _check_status(response, deadline)
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
            _check_status(response, deadline)
            bodies.append(_read(response, source, deadline))
    return bodies
