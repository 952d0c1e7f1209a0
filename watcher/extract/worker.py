"""Run one extraction in a forked child bounded in wall time, memory and output; never raise.

`extract(data, name, limits)` -> Result. The child sets RLIMIT_AS to its current address space
plus `limits.memory_mb` (a fork inherits the parent's mappings, so a fixed cap would be wrong in a
big parent) and RLIMIT_CPU as a backstop; the parent waits `limits.seconds` for the answer, then
SIGKILLs the child. The answer is read with a byte cap. A hang, a bomb, a truncated or lying file
costs that file only: Result.error is one line (`timeout after 20s`, `memory limit 512 MiB`,
`hwp: ...`) and the caller moves on.

Fork, not spawn: a child starts in a few ms with the readers already imported, and dies with its
parent (watcher/pipeline/forking.py `die_with_parent`, the project's one way of forking). At most
`forking.cores()` children run at once, whatever the number of threads asking (SLOTS). The child
runs only the reader's code, so a lock another thread of the parent held at the fork can cost at
most the time limit. `python -m watcher.extract FILE` (__main__.py) does the same in a fresh
interpreter, for a parent that must not fork.
"""

from __future__ import annotations

import faulthandler
import json
import os
import pickle
import resource
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from watcher.extract.core import read_bytes
from watcher.extract.errors import ExtractError, Text
from watcher.extract.filetype import HEAD_BYTES, sniff
from watcher.pipeline.forking import cores, die_with_parent, libc

SLOTS = threading.BoundedSemaphore(cores())  # extraction children alive at once


@dataclass(frozen=True)
class Limits:
    seconds: float = 20.0  # wall time of one file
    memory_mb: int = 512  # address space the child may add to what it inherits
    max_chars: int = 2_000_000  # text kept per file
    max_inflated: int = 64 << 20  # decompressed bytes per file (HWP sections, HWPX members)
    max_bytes: int = 50 << 20  # a larger input is refused before any work


@dataclass(frozen=True)
class Result:
    name: str
    kind: str | None  # the real type: hwp, hwpx, pdf; None when unknown
    text: str
    chars: int
    partial: bool  # text known incomplete (a PrvText fallback, truncated stream, a cap)
    error: str  # "" on success; else one line naming the stage
    note: str  # one line: why partial, or an extension that lied
    ms: float  # wall time including the child

    @property
    def ok(self) -> bool:
        return not self.error


class _Timeout(Exception):
    pass


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 0


def _child(out: int, parent: int, fn: Callable[..., Any], args: tuple, limits: Limits) -> None:
    """In the forked child: fn(*args) bounded in memory and CPU, its answer pickled into the pipe `out`;
    never returns."""
    try:
        die_with_parent(parent)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a child ends
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler (`watcher run`)
        faulthandler.disable()  # a crash is reported by the parent, not as the parent's stack
        cap = _address_space() + limits.memory_mb * (1 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        cpu = int(limits.seconds) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        try:
            payload: Any = ("ok", fn(*args))
        except MemoryError:
            payload = ("error", f"memory limit {limits.memory_mb} MiB")
        except ExtractError as e:
            payload = ("error", _line(str(e)))
        except RecursionError:
            payload = ("error", "recursion limit")
        except Exception as e:  # a reader's bug must not take the parent down: name it in one line
            payload = ("error", _line(f"{type(e).__name__}: {e}"))
        try:
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            data = pickle.dumps(("error", f"memory limit {limits.memory_mb} MiB"))
        with os.fdopen(out, "wb") as pipe:
            pipe.write(data)
    finally:
        os._exit(0)


def _line(s: str) -> str:
    return " ".join(s.split())[:300]


def run_bounded(fn: Callable[..., Any], args: tuple, limits: Limits, max_answer: int) -> Any:
    """fn(*args) in a forked child; its return value, or raises ExtractError with one line."""
    if sys.platform.startswith("linux"):
        libc()  # loaded here once, so no child looks for it again
    with SLOTS:
        return _run(fn, args, limits, max_answer)


def _run(fn: Callable[..., Any], args: tuple, limits: Limits, max_answer: int) -> Any:
    """One child of our own (os.fork, a pipe, waitpid): multiprocessing's Process objects reap each
    other's children when several threads start them, which loses exit statuses."""
    parent = os.getpid()
    answer, out = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(answer)
        _child(out, parent, fn, args, limits)
    os.close(out)
    try:
        raw = _receive(answer, time.monotonic() + limits.seconds, limits.seconds, max_answer)
    finally:
        os.close(answer)
        code = _reap(pid)
    if not raw:
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            hint = " (CPU limit)" if -code == signal.SIGXCPU else " (memory limit?)" if -code in (
                signal.SIGSEGV, signal.SIGABRT, signal.SIGKILL, signal.SIGBUS) else ""
            raise ExtractError(f"worker killed by {name}{hint}")
        raise ExtractError(f"worker ended without an answer (exit {code})")
    status, value = pickle.loads(raw)
    if status == "error":
        raise ExtractError(value)
    return value


def _receive(fd: int, deadline: float, seconds: float, limit: int) -> bytes:
    """Everything the child writes until it closes the pipe, by the deadline, at most `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise ExtractError(f"timeout after {seconds:g}s")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise ExtractError(f"output over {limit} bytes")
        chunks.append(chunk)


def _reap(pid: int) -> int | None:
    """The child's exit code (negative: the signal that ended it), killing it if it still runs."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            done, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)
    except (ChildProcessError, ProcessLookupError):
        return None


def _read(data: bytes, name: str, limits: Limits) -> tuple[str, Text]:
    return read_bytes(data, name, max_chars=limits.max_chars, max_inflated=limits.max_inflated)


def extract(data: bytes, name: str = "", limits: Limits = Limits()) -> Result:
    """Text of one attachment, bounded; never raises (a failure is Result.error)."""
    start = time.perf_counter()

    def done(kind: str | None, text: Text | None, error: str = "") -> Result:
        body = text.text if text else ""
        return Result(name, kind, body, len(body), bool(text and text.partial), error,
                      text.note if text else "", (time.perf_counter() - start) * 1000)

    if len(data) > limits.max_bytes:
        return done(None, None, f"extract: {len(data)} bytes (limit {limits.max_bytes})")
    if not data:
        return done(None, None, "extract: empty file")
    # a character is at most 4 bytes of UTF-8 in the pickle; 64 KiB for the note and framing
    max_answer = limits.max_chars * 4 + (64 << 10)
    try:
        kind, text = run_bounded(_read, (data, name, limits), limits, max_answer)
    except ExtractError as e:
        return done(sniff(data[:HEAD_BYTES]), None, str(e))
    return done(kind, text)


def extract_file(path: str, limits: Limits = Limits()) -> Result:
    """extract() on a file; an unreadable or oversized path is an error Result too."""
    name = os.path.basename(path)
    try:
        size = os.path.getsize(path)
        if size > limits.max_bytes:
            return Result(name, None, "", 0, False, f"extract: {size} bytes (limit {limits.max_bytes})", "", 0.0)
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return Result(name, None, "", 0, False, _line(f"extract: {e.strerror or e}"), "", 0.0)
    return extract(data, name, limits)


def main(argv: list[str] | None = None) -> int:
    """`python -m watcher.extract FILE [SECONDS]`: the Result as JSON on stdout (no fork needed).

    Bounded in memory and CPU here; the caller bounds wall time (subprocess timeout)."""
    argv = sys.argv[1:] if argv is None else argv
    path = argv[0]
    seconds = float(argv[1]) if len(argv) > 1 else Limits.seconds
    limits = Limits(seconds=seconds)
    cap = _address_space() + limits.memory_mb * (1 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    cpu = int(seconds) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    start = time.perf_counter()
    name = os.path.basename(path)
    try:
        with open(path, "rb") as f:
            data = f.read(limits.max_bytes + 1)
        kind, text = _read(data, name, limits)
        result = Result(name, kind, text.text, len(text.text), text.partial, "", text.note,
                        (time.perf_counter() - start) * 1000)
    except (ExtractError, OSError, MemoryError) as e:
        err = f"memory limit {limits.memory_mb} MiB" if isinstance(e, MemoryError) else _line(str(e))
        result = Result(name, None, "", 0, False, err, "", (time.perf_counter() - start) * 1000)
    sys.stdout.write(json.dumps(asdict(result), ensure_ascii=False))
    return 0
