"""The HTTP/1.1 client the fetcher polls with: http.client plus what a poll needs, nothing more.

- keep-alive connections per (scheme, host, port), reused LIFO; one idle longer than IDLE_MAX or
  closed by the server is dropped before use, and a request that fails on a reused connection
  before any answer is sent once more on a new one;
- redirects followed (at most MAX_REDIRECTS; `Authorization` is not sent to another host);
- gzip / deflate bodies decoded while streamed (`Response.read1`);
- `http_proxy` / `https_proxy` / `all_proxy` / `no_proxy` from the environment (https through a
  CONNECT tunnel); certificates checked against `REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE` /
  `SSL_CERT_FILE` when set, else certifi's bundle when installed, else the system's;
- cookies a server sets are sent back for the session's life (http.cookiejar, imported only then).

Transport errors surface as they are (OSError, ssl.SSLError, http.client.HTTPException,
TooManyRedirects); watcher/fetch.py turns them into one-line FetchErrors. `on_connection` is told
each connection a request uses (fetch.py's deadline shuts its socket down when time is up).
"""

from __future__ import annotations

import base64
import http.client
import os
import select
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

MAX_REDIRECTS = 30
REDIRECTS = (301, 302, 303, 307, 308)
IDLE_MAX = 30.0  # seconds an idle keep-alive connection is trusted (servers close theirs after 5-60 s)
_SAFE = "!#$%&'()*+,/:;=?@[]~"  # what stays as written in a request target (as requests' requote_uri)

Key = tuple[str, str, int]  # (scheme, host, port)


class TooManyRedirects(Exception):
    pass


class DecodeError(ValueError):
    """A gzip / deflate body that does not decode."""


class Response:
    """Status, headers and the final URL of an answer; the body is streamed with `read1`."""

    def __init__(self, raw: http.client.HTTPResponse, url: str, release: Callable[[bool], None]) -> None:
        self.raw, self.url, self._release = raw, url, release
        self.status_code, self.reason, self.headers = raw.status, raw.reason, raw.headers
        coding = (raw.headers.get("Content-Encoding") or "").strip().lower()
        self._decoder: Any = None
        if coding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            self._decoder = _Deflate()
        self._done = self._closed = False

    def read1(self, size: int) -> bytes:
        """Up to about `size` bytes of the decoded body, whatever has arrived; b"" at its end."""
        try:
            return self._read1(size)
        except zlib.error as exc:
            raise DecodeError(f"{self.headers.get('Content-Encoding')} body does not decode: {exc}") from None

    def _read1(self, size: int) -> bytes:
        while not self._done:
            if self._decoder is not None and getattr(self._decoder, "unconsumed_tail", b""):
                out = self._decoder.decompress(self._decoder.unconsumed_tail, size)
            else:
                data = self.raw.read1(size)
                if not data:
                    self._done = True
                    return self._decoder.flush() if self._decoder is not None else b""
                if self._decoder is None:
                    return data
                out = self._decoder.decompress(data, size)
            if out:
                return out
        return b""

    def close(self) -> None:
        """Done with the answer: its connection goes back to the pool only when the body was read whole
        (or there was none), so no unread byte is left on it for the next request."""
        if self._closed:
            return
        self._closed = True
        whole = self._done or (self.raw.length == 0 and not self.raw.chunked)
        self.raw.close()
        self._release(whole)


class _Deflate:
    """`Content-Encoding: deflate` is zlib-wrapped by the spec and raw deflate on some servers."""

    def __init__(self) -> None:
        self._obj: Any = zlib.decompressobj()
        self._first = True
        self.unconsumed_tail = b""

    def decompress(self, data: bytes, size: int) -> bytes:
        if self._first:
            self._first = False
            try:
                out = self._obj.decompress(data, size)
            except zlib.error:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._obj.decompress(data, size)
        else:
            out = self._obj.decompress(data, size)
        self.unconsumed_tail = self._obj.unconsumed_tail
        return out

    def flush(self) -> bytes:
        return self._obj.flush()


class Session:
    """Connections, cookies and proxy settings shared by the polls of one process."""

    def __init__(self, pool_size: int = 32, headers: dict[str, str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.headers: dict[str, str] = dict(headers or {})
        self.pool_size = pool_size
        self._idle: dict[Key, list[tuple[http.client.HTTPConnection, float]]] = {}
        self._lock = threading.Lock()
        self._env = os.environ if env is None else env
        self._proxies = {scheme: _env(self._env, f"{scheme}_proxy") or _env(self._env, "all_proxy")
                         for scheme in ("http", "https")}
        self._no_proxy = [p.strip().lower() for p in (_env(self._env, "no_proxy") or "").split(",") if p.strip()]
        self._tls: Any = None
        self._cookies: Any = None

    # ---- requests ------------------------------------------------------------------------------

    def get(self, url: str, headers: dict[str, str], timeout: float,
            on_connection: Callable[[http.client.HTTPConnection], None] | None = None) -> Response:
        """GET `url`, following redirects; the answer's headers are read, its body is not."""
        return self.request("GET", url, headers, timeout, on_connection=on_connection)

    def request(self, method: str, url: str, headers: dict[str, str], timeout: float, body: bytes | None = None,
                on_connection: Callable[[http.client.HTTPConnection], None] | None = None) -> Response:
        """`method` (GET or POST with `body`) to `url`, following redirects (a POST redirected by 301, 302
        or 303 becomes a GET, as browsers do; 307 and 308 repeat it); the body of the answer is not read."""
        sent = {**self.headers, **headers}
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(url, sent, timeout, on_connection, method, body)
            if response.status_code not in REDIRECTS or not response.headers.get("Location"):
                return response
            response.close()
            if response.status_code not in (307, 308):
                method, body = "GET", None
                sent = {k: v for k, v in sent.items() if k.lower() != "content-type"}
            target = urljoin(url, response.headers["Location"].strip())
            if urlsplit(target).hostname != urlsplit(url).hostname:
                sent = {k: v for k, v in sent.items() if k.lower() != "authorization"}
            url = target
        raise TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")

    def _send(self, url: str, headers: dict[str, str], timeout: float,
              on_connection: Callable[[http.client.HTTPConnection], None] | None,
              method: str = "GET", body: bytes | None = None) -> Response:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        target = quote(unquote_unreserved(parts.path or "/"), safe=_SAFE)
        if parts.query:
            target += "?" + quote(unquote_unreserved(parts.query), safe=_SAFE)
        proxy = self._proxy_for(scheme, host, port)
        if proxy and scheme == "http":  # absolute form to the proxy
            target = f"http://{parts.netloc}{target}"
        headers = dict(headers)
        if proxy and scheme == "http" and proxy[1]:
            headers["Proxy-Authorization"] = proxy[1]
        if self._cookies is not None:
            cookie = self._cookie_header(url)
            if cookie:
                headers["Cookie"] = cookie
        key: Key = (scheme, host, port)
        for attempt in (0, 1):
            conn, reused = self._checkout(key, timeout, proxy)
            if on_connection is not None:
                on_connection(conn)
            try:
                conn.request(method, target, body=body, headers=headers)
                raw = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.BadStatusLine):
                conn.close()
                if reused and attempt == 0:
                    continue  # the server had closed the idle connection: once more on a new one
                raise
            except BaseException:
                conn.close()
                raise
            break
        if self._cookies is not None or raw.headers.get("Set-Cookie"):
            self._keep_cookies(url, raw)
        return Response(raw, url, lambda whole: self._checkin(key, conn, raw, whole))

    # ---- connections ---------------------------------------------------------------------------

    def _checkout(self, key: Key, timeout: float, proxy: tuple[str, str | None] | None
                  ) -> tuple[http.client.HTTPConnection, bool]:
        now = time.monotonic()
        with self._lock:
            idle = self._idle.get(key)
            while idle:
                conn, since = idle.pop()
                if now - since < IDLE_MAX and not _dropped(conn):
                    conn.timeout = timeout
                    if conn.sock is not None:
                        conn.sock.settimeout(timeout)
                    return conn, True
                conn.close()
        return self._connection(key, timeout, proxy), False

    def _checkin(self, key: Key, conn: http.client.HTTPConnection, raw: http.client.HTTPResponse,
                 whole: bool) -> None:
        if not whole or raw.will_close or conn.sock is None:
            conn.close()
            return
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.pool_size:
                idle.append((conn, time.monotonic()))
                return
        conn.close()

    def _connection(self, key: Key, timeout: float, proxy: tuple[str, str | None] | None
                    ) -> http.client.HTTPConnection:
        scheme, host, port = key
        if proxy is not None:
            p = urlsplit(proxy[0])
            phost, pport = p.hostname or "", p.port or 80
            if scheme == "https":
                conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                    phost, pport, timeout=timeout, context=self._tls_context())
                conn.set_tunnel(host, port, headers={"Proxy-Authorization": proxy[1]} if proxy[1] else None)
                return conn
            return http.client.HTTPConnection(phost, pport, timeout=timeout)
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=self._tls_context())
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def _tls_context(self) -> Any:
        if self._tls is None:
            import ssl  # only once an https source is polled

            cafile = next((self._env[v] for v in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
                           if self._env.get(v)), None)
            if cafile is None:
                try:
                    import certifi

                    cafile = certifi.where()
                except ImportError:
                    pass
            self._tls = ssl.create_default_context(cafile=cafile)
        return self._tls

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn, _ in conns:
                conn.close()

    # ---- proxies and cookies -------------------------------------------------------------------

    def _proxy_for(self, scheme: str, host: str, port: int) -> tuple[str, str | None] | None:
        """(proxy URL, Proxy-Authorization value) for this host, or None when it goes direct."""
        proxy = self._proxies.get(scheme)
        if not proxy or _bypass(self._no_proxy, host.lower(), port):
            return None
        if "://" not in proxy:
            proxy = "http://" + proxy
        p = urlsplit(proxy)
        auth = None
        if p.username is not None:
            token = f"{unquote(p.username)}:{unquote(p.password or '')}".encode()
            auth = "Basic " + base64.b64encode(token).decode("ascii")
        return proxy, auth

    def _keep_cookies(self, url: str, raw: http.client.HTTPResponse) -> None:
        import urllib.request  # only for a server that sets cookies
        from http.cookiejar import CookieJar

        with self._lock:
            if self._cookies is None:
                self._cookies = CookieJar()
            self._cookies.extract_cookies(_CookieResponse(raw.headers), urllib.request.Request(url))

    def _cookie_header(self, url: str) -> str | None:
        import urllib.request

        request = urllib.request.Request(url)
        with self._lock:
            self._cookies.add_cookie_header(request)
        return request.get_header("Cookie")


class _CookieResponse:
    def __init__(self, headers: http.client.HTTPMessage) -> None:
        self._headers = headers

    def info(self) -> http.client.HTTPMessage:
        return self._headers


def _env(env: Any, name: str) -> str | None:
    return env.get(name.lower()) or env.get(name.upper()) or None


def _bypass(no_proxy: list[str], host: str, port: int) -> bool:
    """`no_proxy` entries: `*`, a host or domain (`.example.org`, `example.org`), host:port, an IP
    network (`10.0.0.0/8`)."""
    for entry in no_proxy:
        if entry == "*":
            return True
        name, _, entry_port = entry.partition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and entry_port != str(port):
            continue
        name = name.lstrip(".")
        if host == name or host.endswith("." + name):
            return True
        if "/" in name:
            import ipaddress

            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False):
                    return True
            except ValueError:
                pass
    return False


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether the server closed an idle connection (readable while idle means EOF or garbage)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def unquote_unreserved(text: str) -> str:
    """Percent-escapes of unreserved characters decoded, every other escape kept as written."""
    if "%" not in text:
        return text
    parts = text.split("%")
    out = [parts[0]]
    for part in parts[1:]:
        code = part[:2]
        if len(code) == 2 and all(c in "0123456789abcdefABCDEF" for c in code) and chr(int(code, 16)) in _UNRESERVED:
            out.append(chr(int(code, 16)) + part[2:])
        else:
            out.append("%" + part)
    return "".join(out)
