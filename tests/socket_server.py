"""A local Slack Socket Mode endpoint for tests: a real WebSocket server on 127.0.0.1 (stdlib only)
speaking Socket Mode's envelopes.

The Web API server of the tests (tests/slack_server.py) answers `apps.connections.open` with this
server's `ws://` URL. Each connection gets `hello`; the test then sends envelopes of type
`interactive`, `slash_commands` and `events_api` (`send`, `click`, `slash`, `event`), each with its
own `envelope_id`, and reads the client's acknowledgements (`wait_ack`: the ack and how long it
took). Pings are answered with pongs. `drop()` cuts every connection without a close frame (a dead
network); `disconnect()` sends Slack's `disconnect` envelope (the client should open a new socket).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class _Conn:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = threading.Lock()
        self.open = True

    def send(self, opcode: int, data: bytes) -> None:
        head = bytes([0x80 | opcode])
        n = len(data)
        if n <= 125:
            head += bytes([n])
        elif n <= 65535:
            head += bytes([126]) + struct.pack("!H", n)
        else:
            head += bytes([127]) + struct.pack("!Q", n)
        with self.lock:
            if self.open:
                self.sock.sendall(head + data)

    def text(self, obj: dict[str, Any]) -> None:
        self.send(0x1, json.dumps(obj, ensure_ascii=False).encode("utf-8"))

    def close(self) -> None:
        with self.lock:
            self.open = False
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()


class SocketModeServer:
    def __init__(self, app_id: str = "A0TEAM") -> None:
        self.app_id = app_id
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.conns: list[_Conn] = []
        self.connections = 0  # connections accepted in all
        self.acks: dict[str, tuple[dict[str, Any], float]] = {}  # envelope id -> (ack, seconds it took)
        self.sent: dict[str, float] = {}
        self.pings = 0
        self._seq = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.listener.getsockname()[:2]
        return f"ws://{host}:{port}/link/?ticket=test-ticket&app_id={self.app_id}"

    # -- the test's side -----------------------------------------------------------------------
    def wait_connected(self, count: int = 1, timeout: float = 10.0) -> bool:
        """True once `count` connections were accepted in all and one is open."""
        end = time.monotonic() + timeout
        with self._changed:
            while not (self.connections >= count and any(c.open for c in self.conns)):
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def send(self, kind: str, payload: dict[str, Any], accepts_response_payload: bool = False) -> str:
        """One envelope on the newest open connection -> its envelope_id."""
        with self._lock:
            self._seq += 1
            envelope_id = f"env-{self._seq:04d}"
            conn = next((c for c in reversed(self.conns) if c.open), None)
        if conn is None:
            raise AssertionError("no open Socket Mode connection")
        self.sent[envelope_id] = time.monotonic()
        conn.text({"envelope_id": envelope_id, "type": kind, "payload": payload,
                   "accepts_response_payload": accepts_response_payload, "retry_attempt": 0, "retry_reason": ""})
        return envelope_id

    def click(self, payload: dict[str, Any]) -> str:
        return self.send("interactive", payload)

    def slash(self, payload: dict[str, Any]) -> str:
        return self.send("slash_commands", payload, accepts_response_payload=True)

    def event(self, payload: dict[str, Any]) -> str:
        return self.send("events_api", payload)

    def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> tuple[dict[str, Any], float] | None:
        end = time.monotonic() + timeout
        with self._changed:
            while envelope_id not in self.acks:
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)
            return self.acks[envelope_id]

    def drop(self) -> None:
        """Cut every connection, no close frame: the network went away."""
        with self._lock:
            conns = list(self.conns)
        for conn in conns:
            conn.close()

    def disconnect(self) -> None:
        """Slack's `disconnect` envelope: the client should connect anew."""
        with self._lock:
            conns = [c for c in self.conns if c.open]
        for conn in conns:
            conn.text({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "test"}})

    # -- the server's side ---------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stop:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = sock.recv(1024)
                if not chunk:
                    sock.close()
                    return
                request += chunk
            headers = {}
            for line in request.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + GUID).encode()).digest()).decode()
            sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
            conn = _Conn(sock)
            with self._changed:
                self.conns.append(conn)
                self.connections += 1
                self._changed.notify_all()
            conn.text({"type": "hello", "num_connections": 1, "debug_info": {"host": "local-test"},
                       "connection_info": {"app_id": self.app_id}})
            self._read(conn)
        except (OSError, KeyError, ValueError):
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _read(self, conn: _Conn) -> None:
        buffer = b""

        def need(n: int) -> bytes:
            nonlocal buffer
            while len(buffer) < n:
                chunk = conn.sock.recv(4096)
                if not chunk:
                    raise OSError("closed")
                buffer += chunk
            out, buffer = buffer[:n], buffer[n:]
            return out

        while conn.open:
            b1, b2 = need(2)
            opcode, masked, n = b1 & 0x0F, b2 & 0x80, b2 & 0x7F
            if n == 126:
                n = struct.unpack("!H", need(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", need(8))[0]
            mask = need(4) if masked else b"\0\0\0\0"
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(need(n)))
            if opcode == 0x9:
                with self._lock:
                    self.pings += 1
                conn.send(0xA, data)
            elif opcode == 0x8:
                conn.send(0x8, data[:2])
                conn.close()
            elif opcode == 0x1:
                message = json.loads(data.decode("utf-8"))
                envelope_id = message.get("envelope_id")
                if envelope_id:
                    with self._changed:
                        took = time.monotonic() - self.sent.get(envelope_id, time.monotonic())
                        self.acks.setdefault(envelope_id, (message, took))
                        self._changed.notify_all()

    def __enter__(self) -> SocketModeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self.drop()
        self.listener.close()


@pytest.fixture()
def socket_mode() -> Iterator[SocketModeServer]:
    """A running local Socket Mode endpoint (see tests/slack_server.py's `apps.connections.open`)."""
    with SocketModeServer() as server:
        yield server
