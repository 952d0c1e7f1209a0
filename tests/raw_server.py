"""Raw socket servers on 127.0.0.1 for answers no well-behaved HTTP server would send."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path


def read_request(conn: socket.socket, buf: bytearray) -> bytes | None:
    """One request head (bytes up to the blank line) from conn, or None at EOF."""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    buf[:] = rest
    return head


class RawServer:
    """Calls `handler(conn, server)` for every accepted connection, in its own thread.
    `requests` collects every request head read with `server.next_request(conn, buf)`."""

    def __init__(self, handler: Callable[[socket.socket, RawServer], None], tls: ssl.SSLContext | None = None):
        self.handler, self.tls = handler, tls
        self.requests: list[bytes] = []
        self.connections = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    def next_request(self, conn: socket.socket, buf: bytearray) -> bytes | None:
        head = read_request(conn, buf)
        if head is not None:
            self.requests.append(head)
        return head

    def headers_of(self, index: int) -> dict[str, str]:
        lines = self.requests[index].decode("latin-1").split("\r\n")[1:]
        return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}

    def target_of(self, index: int) -> str:
        return self.requests[index].decode("latin-1").split(" ")[1]

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            self.handler(conn, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self._stop = True
        self.sock.close()


def serve_each(*answers: bytes, close_after: bool = False) -> Callable[[socket.socket, RawServer], None]:
    """A handler answering the n-th request on a connection with answers[n] (the last one repeats)."""

    def handler(conn: socket.socket, server: RawServer) -> None:
        buf = bytearray()
        n = 0
        while server.next_request(conn, buf) is not None:
            conn.sendall(answers[min(n, len(answers) - 1)])
            n += 1
            if close_after:
                conn.shutdown(socket.SHUT_RDWR)
                return

    return handler


def ok(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 200 OK\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


def found(location: bytes, *headers: bytes) -> bytes:
    """A 302 answer to `location` (raw bytes, as a server may send them), with extra header lines."""
    return b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\n" + b"".join(h + b"\r\n" for h in headers) \
        + b"Content-Length: 0\r\n\r\n"


def by_path(answers: dict[bytes, bytes], otherwise: bytes) -> Callable[[socket.socket, RawServer], None]:
    """A handler answering each request by the target it asks for (`/start`, query included), and
    every other request with `otherwise`."""

    def handler(conn: socket.socket, server: RawServer) -> None:
        buf = bytearray()
        while (head := server.next_request(conn, buf)) is not None:
            target = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
            conn.sendall(answers.get(target, otherwise))

    return handler


def self_signed(folder: Path) -> tuple[Path, ssl.SSLContext] | None:
    """A certificate for 127.0.0.1 made with openssl in `folder` -> (its file, a server context), or
    None when openssl is missing."""
    done = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                           "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                           "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
                          capture_output=True)
    if done.returncode != 0:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return folder / "cert.pem", context
