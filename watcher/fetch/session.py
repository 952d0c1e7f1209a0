"""HTTP for sources on `requests`: one configured Session per process, and what a poll needs on top.

`requests` / urllib3 give: keep-alive pools per host (a connection the server closed while idle is
dropped before use), proxies and CA bundles from the environment (`trust_env`), cookies, TLS checks,
IDNA hosts, percent-encoding of request targets, Content-Length enforcement, chunked framing.
This module adds what neither does by default:

- one deadline for the whole request (connect, TLS, headers, body; every redirect hop): the process's
  watchdog thread shuts the request's socket down when the time is up, so even a server trickling
  its headers a byte at a time is cut there (`Deadline`; our connection class tells the current
  deadline which socket it uses);
- interim 1xx answers (102, 103 Early Hints, ...) skipped: the final answer is read on the same
  connection, never left there for the next request (`_FinalResponse`);
- bodies read raw and decoded here (gzip, deflate, br when `brotli` >= 1.2 is installed): the size cap
  applies to the decoded bytes as they are produced (a decompression bomb stops at `max_bytes`), and a
  compressed stream that ends before its end marker is an error, as is a body shorter than its
  Content-Length (`read_body`);
- redirects followed here (`open_url`): http(s) only, at most MAX_REDIRECTS; a source's own headers go
  only to its own host and never over http once it was https; cookies never over such a downgrade;
  a UTF-8 `Location` (read as Latin-1 by http.client) is re-decoded; a `Location` that is no URL
  (port 99999, a host IDNA refuses) is one error;
- one retry on a new connection when a reused one was closed under the request before any answer;
- every transport failure raised as one-line `FetchError` (`fetch: ...`).

The deadline and error lines live in transport.py, body reading and decoding in body.py.
"""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from watcher import __version__
from watcher.errors import FetchError
from watcher.fetch.body import ACCEPT_ENCODING, CHUNK, discard, read_body
from watcher.fetch.transport import _CURRENT, Deadline, _attach, _chain, _clip, _short, transport_error

__all__ = ["ACCEPT_ENCODING", "CHUNK", "USER_AGENT", "Deadline", "Session", "discard", "idle_connections",
           "make_session", "open_url", "read_body", "transport_error"]

Session = requests.Session

USER_AGENT = f"gongmo-watcher/{__version__} (public-call watcher; polite polling)"
MAX_REDIRECTS = 30
REDIRECTS = (301, 302, 303, 307, 308)
MAX_INTERIM = 20  # 1xx answers tolerated before the final one


# ---- connections: deadline hook, 1xx skipped ---------------------------------------------------

class _FinalResponse(http.client.HTTPResponse):
    """http.client skips `100 Continue` only, and takes 102 / 103 for the final answer (leaving the
    real one on the connection for the next request). Every 1xx but 101 is skipped here."""

    def _read_status(self) -> tuple[str, int, str]:  # type: ignore[override]
        for _ in range(MAX_INTERIM):
            version, status, reason = super()._read_status()
            if not (100 <= status < 200) or status == 101:
                return version, status, reason
            _skip_headers(self.fp)
        raise http.client.HTTPException(f"more than {MAX_INTERIM} interim (1xx) answers")


def _skip_headers(fp: Any) -> None:
    for _ in range(http.client._MAXHEADERS + 1):  # type: ignore[attr-defined]
        line = fp.readline(http.client._MAXLINE + 1)  # type: ignore[attr-defined]
        if len(line) > http.client._MAXLINE:  # type: ignore[attr-defined]
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            return
    raise http.client.HTTPException(f"got more than {http.client._MAXHEADERS} headers")  # type: ignore[attr-defined]


class _Tracked:
    """Mixed into urllib3's connection classes: attaches to the thread's deadline, and tells whether
    a request goes out on a socket that already carried an answer (a kept-alive one)."""

    response_class = _FinalResponse
    _served = 0  # answers read on the current socket

    def connect(self) -> None:
        _attach(self)
        self._served = 0
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        _CURRENT.reused = getattr(self, "sock", None) is not None and self._served > 0
        super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self) -> Any:
        response = super().getresponse()  # type: ignore[misc]
        self._served += 1
        return response


class _HTTPConnection(_Tracked, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Tracked, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


def _socks_pools() -> dict[str, type]:
    from urllib3.contrib import socks  # PySocks; only for a socks*:// proxy

    class SOCKSConnection(_Tracked, socks.SOCKSConnection):
        pass

    class SOCKSHTTPSConnection(_Tracked, socks.SOCKSHTTPSConnection):
        pass

    class SOCKSPool(socks.SOCKSHTTPConnectionPool):
        ConnectionCls = SOCKSConnection

    class SOCKSHTTPSPool(socks.SOCKSHTTPSConnectionPool):
        ConnectionCls = SOCKSHTTPSConnection

    return {"http": SOCKSPool, "https": SOCKSHTTPSPool}


class _Adapter(HTTPAdapter):
    """requests' adapter with our connection classes, direct and through proxies."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        fresh = proxy not in self.proxy_manager
        manager = super().proxy_manager_for(proxy, **kwargs)
        if fresh:
            socks = proxy.lower().startswith("socks")
            manager.pool_classes_by_scheme = _socks_pools() if socks else _POOLS
        return manager


def make_session(pool_size: int = 32, hosts: int = 64) -> requests.Session:
    """The process's Session: `hosts` per-host pools kept (size it to the configured sources' hosts),
    up to `pool_size` idle keep-alive connections each; proxies, `no_proxy` and
    REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment (SSL_CERT_FILE too, as before)."""
    import os

    session = requests.Session()
    session.trust_env = True
    adapter = _Adapter(pool_connections=max(1, hosts), pool_maxsize=max(1, pool_size), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING, "Accept": "*/*"})
    cafile = os.environ.get("SSL_CERT_FILE")
    if cafile and not (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")):
        session.verify = cafile
    return session


def idle_connections(session: requests.Session) -> list[Any]:
    """Open keep-alive connections waiting in the session's pools (for tests and diagnostics)."""
    found = []
    for adapter in {id(a): a for a in session.adapters.values()}.values():
        managers = [adapter.poolmanager, *getattr(adapter, "proxy_manager", {}).values()]
        for manager in managers:
            for key in list(manager.pools.keys()):
                pool = manager.pools.get(key)
                for conn in list(pool.pool.queue) if pool is not None and pool.pool else []:
                    if conn is not None and conn.sock is not None:
                        found.append(conn)
    return found


# ---- one GET, redirects followed here ----------------------------------------------------------

def open_url(session: requests.Session, url: str, own_headers: dict[str, str], deadline: Deadline,
             validators: dict[str, str] | None = None, method: str = "GET", body: bytes | None = None
             ) -> requests.Response:
    """GET `url` (or POST `body`, its Content-Type among `validators`) within `deadline`, following
    redirects (a POST redirected by 301, 302 or 303 becomes a GET, as browsers do; 307 and 308 repeat
    it); the answer's headers are read, its body is not (`read_body` / `discard`). `own_headers` (the
    source's: keys, tokens, cookies) go only to the source's own host, never over http once it was
    https; `validators` (If-None-Match, ...) go to every hop. Raises FetchError."""
    origin = urlsplit(url)
    trusted = True  # sticky: once a hop leaves the origin, later hops get no secrets
    downgraded = False
    extra = dict(validators or {})
    for _ in range(MAX_REDIRECTS + 1):
        hop = urlsplit(url)
        trusted = trusted and _same_site(origin, hop)
        downgraded = downgraded or (origin.scheme.lower() == "https" and hop.scheme.lower() == "http")
        headers = {**(own_headers if trusted else {}), **extra}
        response = _send(session, url, headers, deadline, cookies=not downgraded, method=method, body=body)
        location = _location(response)
        if response.status_code not in REDIRECTS or location is None:
            return response
        discard(response, deadline)
        url = _redirect_target(session, url, location)
        if method != "GET" and response.status_code not in (307, 308):
            method, body = "GET", None
            extra = {k: v for k, v in extra.items() if k.lower() != "content-type"}
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def _send(session: requests.Session, url: str, headers: dict[str, str], deadline: Deadline,
          cookies: bool, method: str = "GET", body: bytes | None = None) -> requests.Response:
    try:
        prepared = session.prepare_request(requests.Request(method, url, headers=headers, data=body))
    except (requests.RequestException, ValueError) as exc:  # InvalidURL, LocationParseError, UnicodeError
        raise FetchError(f"bad URL {_clip(url)}: {_short(exc)}") from None
    if not cookies:
        prepared.headers.pop("Cookie", None)
    adapter = session.get_adapter(prepared.url)
    for attempt in (0, 1):
        left = deadline.remaining()
        if left <= 0 or deadline.expired:
            raise deadline.timed_out()
        _CURRENT.reused = False
        try:
            settings = _environment(session, prepared.url)
            # the adapter, not Session.send: Session.send would also build the next redirect's request
            # (requests' own redirect code), which raises on the very Locations handled here
            response = adapter.send(prepared, timeout=(left, left), **settings)
        except Exception as exc:  # noqa: BLE001 - every transport failure becomes one line
            if attempt == 0 and getattr(_CURRENT, "reused", False) and not deadline.expired and _stale(exc):
                continue  # the server closed the kept-alive connection under us: once more, new connection
            raise transport_error(exc, url, deadline) from None
        extract_cookies_to_jar(session.cookies, prepared, response.raw)
        return response
    raise AssertionError("unreachable")


def _environment(session: requests.Session, url: str) -> dict[str, Any]:
    """Proxies (`*_proxy`, `no_proxy`) and CA bundle from the environment for this scheme://host:port,
    read once per Session (requests re-reads the whole environment per request: half of its CPU)."""
    origin = "/".join(url.split("/", 3)[:3])
    cache = session.__dict__.setdefault("_watcher_environment", {})
    settings = cache.get(origin)
    if settings is None:
        settings = cache[origin] = session.merge_environment_settings(origin + "/", {}, True, None, None)
    return dict(settings)


def _stale(exc: BaseException) -> bool:
    return any(isinstance(e, (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError,
                              BrokenPipeError)) for e in _chain(exc))


def _same_site(origin: Any, hop: Any) -> bool:
    """Same host, not downgraded from https to http; same port, or http:80 -> https:443."""
    if (origin.hostname or "").lower().rstrip(".") != (hop.hostname or "").lower().rstrip("."):
        return False
    o_scheme, h_scheme = origin.scheme.lower(), hop.scheme.lower()
    if o_scheme == "https" and h_scheme != "https":
        return False
    try:
        o_port = origin.port or (443 if o_scheme == "https" else 80)
        h_port = hop.port or (443 if h_scheme == "https" else 80)
    except ValueError:
        return False
    return o_port == h_port or (o_scheme, o_port, h_scheme, h_port) == ("http", 80, "https", 443)


def _location(response: requests.Response) -> str | None:
    """The `Location` header; http.client decodes header bytes as Latin-1, so a UTF-8 one
    (`/공고`) is decoded back as UTF-8, to be percent-encoded once; bytes that are not UTF-8 are
    percent-encoded as they came (`/caf\\xe9` -> `/caf%E9`)."""
    value = response.headers.get("Location")
    if value is None or not value.strip():
        return None
    value = value.strip(" \t\r\n")  # ASCII only: str.strip would take \xa0 (the last byte of `고`)
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        return value
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw)


def _redirect_target(session: requests.Session, url: str, location: str) -> str:
    try:
        target = urljoin(url, location)
        scheme = urlsplit(target).scheme.lower()
    except ValueError as exc:
        raise FetchError(f"bad redirect to {_clip(location)}: {_short(exc)}") from None
    if scheme not in ("http", "https"):
        raise FetchError(f"redirect to {scheme or 'a relative'} URL refused (http and https only): "
                         f"{_clip(location)}")
    try:
        session.prepare_request(requests.Request("GET", target))  # port range, IDNA, ...
    except (requests.RequestException, ValueError) as exc:
        raise FetchError(f"bad redirect to {_clip(location)}: {_short(exc)}") from None
    return target
