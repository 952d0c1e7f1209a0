"""The whole-request deadline of a poll and the one-line errors of its transport (see session.py).

`Deadline`: one watchdog thread for the process shuts a request's socket down when its time is up
(connect, TLS, headers, body, every redirect hop), so even a server trickling its headers a byte at a
time is cut there; the connection classes of session.py attach themselves to the thread's current
deadline. `transport_error` turns whatever requests, urllib3, http.client, ssl or the OS raised into
one `FetchError` line (`fetch: timeout after 20s`, `connection failed: ...`, `TLS error: ...`).
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from watcher.errors import FetchError

# ---- the whole-request deadline ---------------------------------------------------------------

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
_CURRENT = threading.local()  # .deadline: the Deadline of the request this thread is making


class Deadline:
    """The end of one whole request. While it is entered, every connection the thread's request
    uses attaches itself; at `ends` the watchdog shuts that socket down (a blocked read returns at
    once) and `expired` tells why the request failed."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.started = time.monotonic()
        self.ends = self.started + timeout
        self.expired = self.finished = False
        self._conn: Any = None
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def attach(self, conn: Any) -> None:
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

    def timed_out(self) -> FetchError:
        return FetchError(f"timeout after {self.timeout:g}s")

    def __enter__(self) -> Deadline:
        _WATCHDOG.watch(self)
        _CURRENT.deadline = self
        return self

    def __exit__(self, *exc: object) -> None:
        _CURRENT.deadline = None
        with self._lock:
            self.finished = True


def _shut(conn: Any) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _attach(conn: Any) -> None:
    deadline = getattr(_CURRENT, "deadline", None)
    if deadline is not None:
        deadline.attach(conn)


# ---- errors ------------------------------------------------------------------------------------

def transport_error(exc: BaseException, url: str, deadline: Deadline) -> FetchError:
    """Any failure of one request as one line (`fetch: ...`)."""
    if isinstance(exc, FetchError):
        return exc
    if deadline.expired or _is_timeout(exc):
        return deadline.timed_out()
    chain = _chain(exc)
    root = chain[-1]
    netloc = _netloc(url)
    if any(type(e).__module__ == "ssl" for e in chain) or isinstance(exc, requests.exceptions.SSLError):
        tls = next((e for e in chain if type(e).__module__ == "ssl"), root)
        return FetchError(f"TLS error: {_short(tls)}")
    if isinstance(exc, requests.exceptions.ProxyError):
        return FetchError(f"proxy failed: {_short(root)}")
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                        requests.exceptions.MissingSchema, ValueError)):
        return FetchError(f"bad URL {_clip(url)}: {_short(root)}")
    oserror = next((e for e in reversed(chain) if isinstance(e, OSError) and e.strerror), None)
    if oserror is not None:
        return FetchError(f"connection failed: {oserror.strerror} ({netloc})")
    return FetchError(f"connection failed: {_short(root)} ({netloc})")


def _chain(exc: BaseException) -> list[BaseException]:
    """exc and what it wraps (requests -> urllib3 MaxRetryError.reason -> ... -> OSError)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 12:
        seen.append(current)
        reason = getattr(current, "reason", None)
        nested = [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        current = (reason if isinstance(reason, BaseException) else None) or current.__cause__ or (
            nested[-1] if nested else None) or (None if current.__suppress_context__ else current.__context__)
    return seen


def _root(exc: BaseException) -> BaseException:
    chain = _chain(exc)
    useful = [e for e in chain if str(e)]
    return useful[-1] if useful else chain[-1]


def _is_timeout(exc: BaseException) -> bool:
    """(urllib3's NewConnectionError subclasses its ConnectTimeoutError: a refused connection is no timeout.)"""
    return any(isinstance(e, (TimeoutError, requests.exceptions.Timeout, urllib3.exceptions.TimeoutError))
               and not isinstance(e, urllib3.exceptions.NewConnectionError) for e in _chain(exc))


def _netloc(url: str) -> str:
    try:
        return urlsplit(url).netloc
    except ValueError:
        return "?"


def _clip(text: str, size: int = 120) -> str:
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= size else text[: size - 1] + "…"


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return _clip(text, 200)
