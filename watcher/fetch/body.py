"""Bodies of a poll's answers, read raw and decoded here: the size cap applies to the decoded bytes as
they are produced (a decompression bomb stops at `max_bytes`), and a body cut short is an error:
shorter than its Content-Length, broken chunked framing (urllib3 / http.client), or a gzip, deflate
or br stream that ends before its end marker. br is asked for only when `brotli` >= 1.2 is installed
(its output can be bounded). `discard` reads a short unwanted body (304, redirect, error) to its end
so its connection stays in the pool.
"""

from __future__ import annotations

import zlib
from typing import Any

import requests

from watcher.errors import FetchError
from watcher.fetch.transport import Deadline, _is_timeout, _root, _short

CHUNK = 64 * 1024
DRAIN = 64 * 1024  # bytes of an unwanted body (304, redirect, error) read to keep its connection

try:  # brotli >= 1.2: output_buffer_limit / can_accept_more_data, needed to bound a brotli bomb
    import brotli as _brotli

    _BROTLI = hasattr(_brotli.Decompressor(), "can_accept_more_data")
except ImportError:  # pragma: no cover - depends on the environment
    _BROTLI = False

ACCEPT_ENCODING = "gzip, deflate, br" if _BROTLI else "gzip, deflate"


# ---- bodies ------------------------------------------------------------------------------------

def discard(response: requests.Response, deadline: Deadline | None = None) -> None:
    """Done with an answer whose body is not wanted: a short one is read to its end so its
    connection stays in the pool; a long or broken one closes its connection."""
    try:
        got = 0
        while got <= DRAIN and not (deadline and deadline.expired):
            data = response.raw.read1(CHUNK, decode_content=False)
            if not data:
                break
            got += len(data)
    except Exception:  # noqa: BLE001 - the connection is closed below, nothing else to do
        pass
    response.close()


def read_body(response: requests.Response, max_bytes: int, deadline: Deadline) -> bytes:
    """The decoded body, streamed within `max_bytes` (decoded size) and the deadline. Raises
    FetchError for a body over the cap, cut short (Content-Length, chunked framing, compressed
    stream without its end), that does not decode, or not done by the deadline."""
    length = response.headers.get("Content-Length", "").strip()
    if length.isdigit() and int(length) > max_bytes:
        response.close()
        raise FetchError(f"body of {int(length)} bytes exceeds max_bytes {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    try:
        decoder = _Decoders(response.headers.get("Content-Encoding"), max_bytes)
        while True:
            data = response.raw.read1(CHUNK, decode_content=False)
            if deadline.expired or deadline.remaining() < 0:
                raise deadline.timed_out()
            if not data:
                break
            out = decoder.decode(data)
            size += len(out)
            if size > max_bytes:
                raise FetchError(f"body exceeds max_bytes {max_bytes}")
            chunks.append(out)
        tail = decoder.finish()
        size += len(tail)
        if size > max_bytes:
            raise FetchError(f"body exceeds max_bytes {max_bytes}")
        chunks.append(tail)
        if deadline.expired:  # the socket was shut down under the read: a body cut at the deadline
            raise deadline.timed_out()
    except FetchError:
        response.close()
        raise
    except Exception as exc:  # noqa: BLE001 - urllib3 ProtocolError, OSError, zlib/brotli errors ...
        response.close()
        if deadline.expired or _is_timeout(exc):
            raise deadline.timed_out() from None
        raise FetchError(f"body cut off: {_short(_root(exc))}") from None
    response.close()  # the whole body was read: its connection is already back in the pool
    return b"".join(chunks)


class _Decoders:
    """Content-Encoding decoders, applied in reverse order of the header's list; each stage's output
    is bounded by the size cap as it is produced."""

    def __init__(self, header: str | None, cap: int) -> None:
        codings = [c.strip().lower() for c in (header or "").split(",") if c.strip()]
        self.stages: list[Any] = []
        for coding in reversed(codings):
            if coding in ("gzip", "x-gzip"):
                self.stages.append(_Zlib("gzip", cap))
            elif coding == "deflate":
                self.stages.append(_Zlib("deflate", cap))
            elif coding == "br" and _BROTLI:
                self.stages.append(_Brotli(cap))
            elif coding != "identity":
                self.stages = []  # an encoding we did not ask for: passed through, as before
                break

    def decode(self, data: bytes) -> bytes:
        for stage in self.stages:
            data = stage.decode(data)
        return data

    def finish(self) -> bytes:
        data = b""
        for stage in self.stages:
            data = stage.finish(stage.decode(data) if data else b"")
        return data


class _Zlib:
    def __init__(self, coding: str, cap: int) -> None:
        self.coding, self.cap = coding, cap
        self.obj: Any = zlib.decompressobj(16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS)
        self.first = True  # deflate: zlib-wrapped by the spec, raw on some servers
        self.next_member = False  # gzip: a member ended and another began (or garbage follows)
        self.ignore_rest = False

    def decode(self, data: bytes) -> bytes:
        out = bytearray()
        while data and not self.ignore_rest:
            if self.obj.eof:
                if self.coding != "gzip" or not data.strip(b"\0"):
                    self.ignore_rest = True  # trailing padding after the end marker
                    break
                self.obj, self.next_member = zlib.decompressobj(16 + zlib.MAX_WBITS), True
            try:
                out += self.obj.decompress(data, self.cap + 1 - len(out))
            except zlib.error as exc:
                if self.first and self.coding == "deflate":
                    self.obj = zlib.decompressobj(-zlib.MAX_WBITS)
                    self.first = False
                    continue
                if self.next_member:
                    self.ignore_rest = True  # garbage after a complete gzip member, as browsers allow
                    break
                raise ValueError(f"{self.coding} body does not decode: {exc}") from None
            self.first = self.next_member = False
            if len(out) > self.cap:
                return bytes(out)  # the caller refuses it; nothing more is inflated
            data = self.obj.unconsumed_tail or (self.obj.unused_data if self.obj.eof else b"")
        return bytes(out)

    def finish(self, out: bytes = b"") -> bytes:
        if not self.ignore_rest and not self.obj.eof:
            raise ValueError(f"{self.coding} stream cut off before its end")
        return out + self.obj.flush()


class _Brotli:
    def __init__(self, cap: int) -> None:
        self.obj, self.cap = _brotli.Decompressor(), cap

    def decode(self, data: bytes) -> bytes:
        try:
            out = self.obj.process(data, output_buffer_limit=self.cap + 1)
            while len(out) <= self.cap and not self.obj.can_accept_more_data():
                out += self.obj.process(b"", output_buffer_limit=self.cap + 1 - len(out))
        except _brotli.error as exc:
            raise ValueError(f"br body does not decode: {exc}") from None
        return out

    def finish(self, out: bytes = b"") -> bytes:
        if not self.obj.is_finished():
            raise ValueError("br stream cut off before its end")
        return out
