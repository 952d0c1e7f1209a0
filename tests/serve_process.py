"""`watcher serve` as a real process on a free port of 127.0.0.1, for tests of the desk under load."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from tests.e2e import Watcher


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(w: Watcher, *args: str, ready: float = 30.0) -> Iterator[str]:
    """Start `watcher serve` (plus `args`) and yield its base URL once /healthz answers; stop it after."""
    port = free_port()
    proc = w.popen("serve", "--port", str(port), *args)
    base = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + ready
        while True:
            try:
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > end:
                raise AssertionError(f"watcher serve did not start: {proc.communicate(timeout=5)[1][-2000:]}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=10)
