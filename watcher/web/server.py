"""The desk's HTTP server: a fixed pool of worker threads, a cap on open connections, an idle timeout.

The standard library's threading server starts a thread per connection: 3,000 half-open
connections held 3,000 threads, and closed at once left it deaf for seconds; 50 busy clients shared
the GIL among 50 threads (a CSV export taking 25 times longer under load than alone). Here one loop
(`serve_forever`) accepts connections and waits for their first bytes with a selector, holding no
thread for a connection that says nothing; a connection with a request to read goes to one of
WORKERS threads (wsgiref's handler: one request per connection, HTTP/1.0 style), or, when it asks
for a whole export, to one of EXPORT_WORKERS threads of their own, so pages never queue behind
exports. At most
MAX_CONNECTIONS are open at once: past that the connection that has waited longest without a word
is closed to make room, and when every open connection is being served, new ones wait in the
kernel's backlog. One that sends nothing within the idle timeout is closed.
"""

from __future__ import annotations

import logging
import selectors
import socket
import sys
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from wsgiref.simple_server import WSGIServer

log = logging.getLogger("watcher.web")
WORKERS = 8
EXPORT_WORKERS = 2  # whole exports (format=csv|json|atom, calendar.ics) have threads of their own
MAX_CONNECTIONS = 256


def _is_export(conn: socket.socket) -> bool:
    """Does the request waiting on `conn` ask for a whole export (`format=`, the calendar)? Peeked at,
    not read: the handler reads it as usual."""
    try:
        head = conn.recv(2048, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except OSError:
        return False
    line = head.split(b"\r\n", 1)[0]
    return b"format=" in line or b"/calendar.ics" in line


class DeskServer(WSGIServer):
    """A WSGIServer (bind, environ, app) served by a pool: see the module docstring."""

    request_queue_size = 128  # the kernel's backlog while every connection is in use
    workers = WORKERS
    max_connections = MAX_CONNECTIONS
    idle_timeout = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        self._busy = 0
        self._lock = threading.Lock()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stop.clear()
        self._stopped.clear()
        self.socket.setblocking(False)
        waiting: OrderedDict[socket.socket, tuple[float, Any]] = OrderedDict()  # first byte awaited
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="desk")
        exports = ThreadPoolExecutor(EXPORT_WORKERS, thread_name_prefix="desk-export")
        with selectors.DefaultSelector() as sel:
            sel.register(self.socket, selectors.EVENT_READ, None)
            try:
                while not self._stop.is_set():
                    for key, _ in sel.select(poll_interval):
                        if key.data is None:
                            self._accept(sel, waiting)
                            continue
                        conn = key.fileobj
                        sel.unregister(conn)
                        _, address = waiting.pop(conn)  # type: ignore[call-overload]
                        with self._lock:
                            self._busy += 1
                        (exports if _is_export(conn) else pool).submit(self._serve, conn, address)
                    self._expire(sel, waiting)
            finally:
                for conn in waiting:
                    sel.unregister(conn)
                    conn.close()
                pool.shutdown(wait=False, cancel_futures=True)
                exports.shutdown(wait=False, cancel_futures=True)
                self._stopped.set()

    def _accept(self, sel: selectors.BaseSelector, waiting: OrderedDict[socket.socket, tuple[float, Any]]) -> None:
        while True:
            with self._lock:
                busy = self._busy
            if busy + len(waiting) >= self.max_connections:
                if not waiting:
                    return  # every open connection is being served: new ones wait in the backlog
                oldest, _ = waiting.popitem(last=False)  # the longest silent one makes room
                sel.unregister(oldest)
                oldest.close()
            try:
                conn, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # EMFILE and the like: try again at the next event
                log.warning("accept: %s", exc)
                return
            conn.setblocking(True)
            waiting[conn] = (time.monotonic(), address)
            sel.register(conn, selectors.EVENT_READ, address)

    def _expire(self, sel: selectors.BaseSelector, waiting: OrderedDict[socket.socket, tuple[float, Any]]) -> None:
        limit = time.monotonic() - self.idle_timeout
        while waiting:
            conn, (since, _) = next(iter(waiting.items()))
            if since > limit:
                return
            del waiting[conn]
            sel.unregister(conn)
            conn.close()

    def _serve(self, conn: socket.socket, address: Any) -> None:
        try:
            self.RequestHandlerClass(conn, address, self)
        except Exception:  # noqa: BLE001 - one bad connection never stops the server
            self.handle_error(conn, address)
        finally:
            self.shutdown_request(conn)
            with self._lock:
                self._busy -= 1

    def shutdown(self) -> None:
        self._stop.set()
        self._stopped.wait()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One log line, no traceback: an idle client cut at the timeout, or one that went away."""
        exc = sys.exc_info()[1]
        level = logging.DEBUG if isinstance(exc, (TimeoutError, ConnectionError)) else logging.WARNING
        log.log(level, "%s: %s: %s", client_address[0] if client_address else "?", type(exc).__name__, exc)
