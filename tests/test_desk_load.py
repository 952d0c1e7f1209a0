"""#25 point 11: the desk (a real `watcher serve`) under load: half-open connections hold no thread
and closing them at once leaves it answering; open connections are capped; a silent one is closed
at the idle timeout; 50 clients at once are all answered; exports are streamed."""

from __future__ import annotations

import csv
import io
import resource
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.desk_data import N, fill_desk, write_config
from tests.e2e import KST, Watcher
from tests.serve_process import serving


@pytest.fixture()
def desk(tmp_path):
    from datetime import datetime

    fill_desk(tmp_path / "db.sqlite", datetime.now(KST))
    sources, rules = write_config(tmp_path)
    w = Watcher(tmp_path, {"WATCHER_DB": str(tmp_path / "db.sqlite"), "WATCHER_SOURCES": str(sources),
                           "WATCHER_RULES": str(rules), "WATCHER_IDLE_TIMEOUT": "2"})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4096)), hard))
    return w


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


def server_pid(port: int) -> int:
    """The pid of the process listening on 127.0.0.1:port (from /proc/net/tcp and the fds)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
            inode = fields[9]
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if any(f"socket:[{inode}]" == str(fd.readlink()) for fd in (proc / "fd").iterdir()):
                    return int(proc.name)
            except OSError:
                continue
    raise AssertionError("no server process found")


def page(base: str, timeout: float = 10) -> float:
    started = time.monotonic()
    answer = requests.get(base + "/search", params={"q": "의료기기"}, timeout=timeout)
    assert answer.status_code == 200
    return time.monotonic() - started


def test_half_open_connections_hold_no_thread_and_closing_them_leaves_it_answering(desk):
    with serving(desk) as base:
        port = int(base.rsplit(":", 1)[1])
        pid = server_pid(port)
        socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(1000)]
        time.sleep(0.5)
        assert threads_of(pid) < 40, threads_of(pid)  # one per connection before: 1,000 and more
        assert page(base) < 3
        for sock in socks:
            sock.close()
        assert page(base) < 2  # not deaf while the thousand go away


def test_a_silent_connection_is_closed_at_the_idle_timeout(desk):
    with serving(desk) as base:
        port = int(base.rsplit(":", 1)[1])
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        started = time.monotonic()
        assert sock.recv(1) == b""  # the server hung up
        assert 1 <= time.monotonic() - started < 6
        sock.close()


def test_fifty_clients_at_once_are_all_answered_and_exports_stream(desk):
    with serving(desk) as base:
        failures: list[str] = []

        def client() -> None:
            for _ in range(4):
                try:
                    page(base, timeout=30)
                except (AssertionError, requests.RequestException) as exc:
                    failures.append(repr(exc))

        threads = [threading.Thread(target=client) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert failures == []
        answer = requests.get(base + "/search", params={"q": "의료기기", "format": "csv"}, timeout=30, stream=True)
        assert "Content-Length" not in answer.headers  # streamed: the end of the connection ends it
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
        assert len(rows) == N + 1
