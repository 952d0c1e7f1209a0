"""A real HTTP server on 127.0.0.1 that serves feeds for tests.

Each route answers with a body and headers; ETag / Last-Modified are honoured so conditional
GET can be observed; knobs make a route fail (status, Retry-After), hang, trickle its headers or
body, or cut off.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from watcher.models import Source


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    conditional: bool = True  # send ETag / Last-Modified, answer 304 when they match
    last_modified: str = "Sat, 21 Nov 2026 09:00:00 GMT"
    trickle: float | None = None  # send the body in 1 KB pieces this many seconds apart, no length
    header_trickle: float | None = None  # send status line and headers one byte this many seconds apart


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    status: int
    at: float
    method: str = "GET"
    body: bytes = b""  # what a POST sent


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                server._answer(self)

            def do_POST(self) -> None:  # noqa: N802  (a route answers POST as GET; the hit keeps the body)
                server._answer(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def source(self, path: str, **kwargs: Any) -> Source:
        """A source (id `t`) polling `path` here."""
        return Source(id="t", url=self.url(path), **kwargs)

    def set(self, path: str, body: bytes | str = b"", **kwargs: object) -> Route:
        if isinstance(body, str):
            body = body.encode("utf-8")
        route = Route(body=body, **kwargs)  # type: ignore[arg-type]
        self.routes[path] = route
        return route

    def hits_for(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        sent = handler.rfile.read(int(handler.headers.get("Content-Length") or 0)) if handler.command == "POST" else b""
        route = self.routes.get(path) or self.routes.get(path.split("?")[0])
        status = route.status if route else 404
        if route and route.delay:
            time.sleep(route.delay)
        etag = f'"{hashlib.sha1(route.body).hexdigest()}"' if route else ""
        if route and route.status == 200 and route.conditional:
            if handler.headers.get("If-None-Match") == etag or (
                handler.headers.get("If-Modified-Since") == route.last_modified
                and "If-None-Match" not in handler.headers
            ):
                status = 304
        with self._lock:
            self.hits.append(Hit(path, dict(handler.headers), status, time.time(), handler.command, sent))
        body = route.body if route and status == 200 else b""
        if route and status >= 400 and route.body:
            body = route.body
        try:
            if route and route.header_trickle is not None:
                self._trickle_headers(handler, route, status, body)
                return
            handler.send_response(status)
            if route:
                for key, value in route.headers.items():
                    handler.send_header(key, value)
                if route.conditional and status in (200, 304):
                    handler.send_header("ETag", etag)
                    handler.send_header("Last-Modified", route.last_modified)
                handler.send_header("Content-Type", route.content_type)
            if route and route.trickle is not None and status == 200:
                handler.send_header("Connection", "close")
                handler.end_headers()
                for i in range(0, len(body), 1024):
                    handler.wfile.write(body[i:i + 1024])
                    handler.wfile.flush()
                    time.sleep(route.trickle)
                handler.close_connection = True
                return
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if status != 304:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def _trickle_headers(handler: BaseHTTPRequestHandler, route: Route, status: int, body: bytes) -> None:
        head = (f"HTTP/1.1 {status} OK\r\nContent-Type: {route.content_type}\r\nConnection: close\r\n"
                + "".join(f"X-Pad-{i}: {'x' * 20}\r\n" for i in range(20))
                + f"Content-Length: {len(body)}\r\n\r\n").encode("ascii")
        handler.close_connection = True
        for byte in head:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(route.header_trickle or 0)
        handler.wfile.write(body)

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def feeds() -> Iterator[FeedServer]:
    """A running local feed server (test modules that need set-up define their own `feeds`)."""
    with FeedServer() as server:
        yield server
