"""HTTP for reading a call: one GET of its detail page or of one attachment, as polite as a poll.

Every request goes through `download` (the one function to change when the HTTP session does): the
poll's session (keep-alive, redirects, proxies), the source's headers, its `timeout` for the whole
request and its `max_bytes` for the body, at most PER_HOST requests to one host at a time (the
cycle's limiter). No conditional GET: a call is read once, when it is new. `same_site` says whether
an address is on the source's own site; only the source's API may name files elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from watcher.fetch.poll import Deadline, _check_status, _get, _read
from watcher.fetch.session import Session
from watcher.models import Source

Limiter = Callable[[str], AbstractContextManager[object]]


@dataclass(frozen=True)
class Download:
    body: bytes
    content_type: str | None
    url: str  # where it came from after redirects
    filename: str | None = None  # the name Content-Disposition gives, if any


def download(session: Session, source: Source, url: str, limiter: Limiter | None = None) -> Download:
    """GET `url` as the source's poll would; raises FetchError (`fetch: ...`) for every failure."""
    slot = limiter(url) if limiter is not None else nullcontext()
    with slot, Deadline(source.timeout) as deadline:
        response = _get(session, source, url, dict(source.headers), deadline)
        _check_status(response)
        body = _read(response, source, deadline)
    headers = response.headers
    return Download(body, headers.get("Content-Type"), response.url,
                    disposition_name(headers.get("Content-Disposition")))


def _site(host: str) -> str:
    host = host.lower().split("@")[-1].split(":")[0]
    return host[4:] if host.startswith("www.") else host


def same_site(source_url: str, url: str) -> bool:
    """Is `url` on the source's own host (`www.` or not)? The detail page and its attachments must be."""
    try:
        return _site(urlsplit(url).netloc) == _site(urlsplit(source_url).netloc) != ""
    except ValueError:
        return False


_STAR = re.compile(r"filename\*\s*=\s*([\w-]+)'[^']*'([^;]+)", re.I)
_PLAIN = re.compile(r'filename\s*=\s*"?([^";]+)"?', re.I)


def disposition_name(value: str | None) -> str | None:
    """The file name of a `Content-Disposition` header: RFC 5987 `filename*=UTF-8''…`, else `filename=`
    (percent-encoded, or raw UTF-8 / CP949 bytes as Korean servers send them)."""
    if not value:
        return None
    star = _STAR.search(value)
    if star:
        try:
            return unquote(star.group(2).strip(), encoding=star.group(1), errors="strict") or None
        except (LookupError, UnicodeDecodeError):
            pass
    plain = _PLAIN.search(value)
    if not plain:
        return None
    name = plain.group(1).strip()
    if "%" in name:
        name = unquote(name, errors="replace")
    try:
        raw = name.encode("latin-1")  # http.client decodes header bytes as latin-1
    except UnicodeEncodeError:
        return name or None
    for codec in ("utf-8", "cp949"):
        try:
            return raw.decode(codec) or None
        except UnicodeDecodeError:
            continue
    return name or None
