"""Reliability against real processes: overlapping runs, a locked or full database, many first runs
at once, a Slack answering after our timeout, a parent killed under its parse workers.

Short limits come from the environment (README § Reliability): WATCHER_BUSY_TIMEOUT=1 stands for
the 10 s default, so a lock held 5 s is a lock held five times the busy timeout.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.e2e import KST, Watcher
from tests.feed_server import FeedServer
from tests.slack_server import SlackServer

CHANNELS = ("#a", "#b", "#c", "#d")
RULES = """\
defaults:
  max_age: 14d
  digest_over: 100
rules:
""" + "".join(f"  - name: r{i}\n    any: [키워드{i}]\n    channel: \"{ch}\"\n" for i, ch in enumerate(CHANNELS))


def rss(base: str, items: list[tuple[str, str]], extra: str = "", extra_for: int = 0) -> str:
    """An RSS feed of items (key, title); the last `extra_for` items carry `extra` as description."""
    when = format_datetime(datetime.now(KST) - timedelta(hours=3))
    body = "".join(f"<item><title>{title}</title><link>{base}/view?id={key}</link><guid>{key}</guid>"
                   f"<description>{extra if i >= len(items) - extra_for else ''}</description>"
                   f"<pubDate>{when}</pubDate></item>" for i, (key, title) in enumerate(items))
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'


def items(start: int, per_channel: int) -> list[tuple[str, str]]:
    """per_channel items for each channel: (key, title)."""
    return [(f"n{start + i}-{c}", f"공고 {start + i} 키워드{c} 지원사업") for c in range(len(CHANNELS))
            for i in range(per_channel)]


def sources(base: str, interval: str = "10m", count: int = 1, timeout: str = "2s") -> str:
    """sources.yaml; an edit of the interval makes `run` reload and poll the sources at once."""
    lines = [f"defaults:\n  interval: {interval}\n  timeout: {timeout}\nsources:\n"]
    lines += [f"  - id: s{i}\n    url: {base}/s{i}.xml\n" for i in range(count)]
    return "".join(lines)


@pytest.fixture()
def slack():
    with SlackServer() as server:
        server.min_interval = 0  # two processes may each post to one channel within a second
        yield server


def make(tmp_path: Path, feeds: FeedServer, slack: SlackServer, per_channel: int = 3, db: Path | None = None,
         **env: str) -> Watcher:
    feeds.set("/s0.xml", rss(feeds.base, items(0, per_channel)))
    w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url, **env})
    if db is not None:
        w.env["WATCHER_DB"] = str(db)
    w.write("sources.yaml", sources(feeds.base))
    w.write("rules.yaml", RULES)
    return w


def copies(slack: SlackServer) -> Counter:
    """(channel, item key) -> how many messages Slack showed for it."""
    found: Counter = Counter()
    for m in slack.messages:
        for key in set(re.findall(r"view\?id=(n\d+-\d+)", m["text"] or "")):
            found[(m["channel"], key)] += 1
    return found


def wait_for(check, timeout: float, step: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(step)
    return check()


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    return out, err


def test_two_once_started_together_send_every_alert_once(tmp_path, feeds, slack):
    w = make(tmp_path, feeds, slack)
    slack.delay = 0.2  # sends take time, so the two processes really deliver side by side
    procs = [w.popen("once") for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    found = copies(slack)
    assert len(found) == 12 and set(found.values()) == {1}, found


def test_run_beside_once_sends_every_alert_once(tmp_path, feeds, slack):
    w = make(tmp_path, feeds, slack)
    slack.delay = 0.2
    runner = w.popen("run")
    once = w.popen("once")
    _, err = once.communicate(timeout=60)
    assert once.returncode == 0, err
    assert wait_for(lambda: len(copies(slack)) == 12, 20)
    time.sleep(1.5)  # anything `run` would still repeat
    stop(runner)
    assert set(copies(slack).values()) == {1}, copies(slack)


def test_six_first_runs_at_once_all_succeed_and_alert_once(tmp_path, feeds, slack):
    w = make(tmp_path, feeds, slack, per_channel=1)
    assert not (tmp_path / "db").exists()
    procs = [w.popen("once") for _ in range(6)]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    assert [code for code, _ in results] == [0] * 6, results
    found = copies(slack)
    assert len(found) == 4 and set(found.values()) == {1}, found


def hold_write_lock(db: Path) -> subprocess.Popen[str]:
    """Another process holding the database's write lock (as a long `once` ingest does) until a
    line arrives on its standard input."""
    code = ("import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\nsys.stdin.readline()\n"
            "c.execute('COMMIT')\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_run_outlives_a_write_lock_held_past_the_busy_timeout(tmp_path, feeds, slack):
    w = make(tmp_path, feeds, slack, per_channel=1, WATCHER_BUSY_TIMEOUT="1")
    runner = w.popen("run")
    assert wait_for(lambda: len(slack.messages) == 4, 20)
    db = tmp_path / "db" / "watcher.db"

    locker = hold_write_lock(db)
    feeds.set("/s0.xml", rss(feeds.base, items(0, 1) + items(50, 1)))  # four new alerts while locked
    w.write("sources.yaml", sources(feeds.base, interval="11m"))  # `run` reloads, polls now
    time.sleep(3)  # its rounds fail on the lock meanwhile
    once = w("once", timeout=30)  # and the lock is held for the whole of `once`, well past 1 s
    assert once.returncode == 1
    assert once.stderr.strip().splitlines() == [
        f"error: database {db}: database is locked (another watcher process held it longer than the busy "
        "timeout; WATCHER_BUSY_TIMEOUT sets it)"]
    locker.communicate("release\n", timeout=10)
    assert locker.returncode == 0
    assert runner.poll() is None, "run died on a locked database"
    assert wait_for(lambda: len(copies(slack)) == 8, 20), copies(slack)
    _, err = stop(runner)
    assert "poll round failed: database " in err and "database is locked" in err and "Traceback" not in err
    assert set(copies(slack).values()) == {1}


@pytest.fixture()
def small_disk(tmp_path):
    """A 4 MB tmpfs (root only; otherwise the test is skipped: a full disk cannot be made safely)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def fill_disk(path: Path) -> None:
    with open(path, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass


def test_run_outlives_a_full_disk_and_delivers_afterwards(tmp_path, feeds, slack, small_disk):
    db = small_disk / "watcher.db"
    w = make(tmp_path, feeds, slack, per_channel=1, db=db, WATCHER_BUSY_TIMEOUT="1")
    runner = w.popen("run")
    assert wait_for(lambda: len(slack.messages) == 4, 20)

    fill_disk(small_disk / "filler")
    big = "의료 " * 50_000  # 350 KB of summary: the WAL must grow, and there is no room
    feeds.set("/s0.xml", rss(feeds.base, items(0, 1) + items(50, 1), extra=big, extra_for=1))
    w.write("sources.yaml", sources(feeds.base, interval="11m"))  # `run` reloads, polls now
    time.sleep(4)
    assert runner.poll() is None, "run died on a full disk"
    assert len(slack.messages) == 4  # nothing could be stored yet
    (small_disk / "filler").unlink()
    if not wait_for(lambda: len(copies(slack)) == 8, 20):
        runner.kill()
        pytest.fail(f"not delivered after the disk was freed: {copies(slack)}\n{runner.communicate()[1][-3000:]}")
    _, err = stop(runner)
    assert "disk is full" in err and "Traceback" not in err
    assert set(copies(slack).values()) == {1}


def test_slack_answering_after_the_timeout_repeats_an_alert_at_most_once(tmp_path, feeds, slack):
    w = make(tmp_path, feeds, slack, per_channel=1, WATCHER_SLACK_TIMEOUT="1", WATCHER_RETRY_BASE="1")
    feeds.set("/s0.xml", rss(feeds.base, items(0, 1)[:2]))  # one alert for #a, one for #b
    slack.delay = 1.5  # Slack posts every message, but answers after our 1 s timeout
    for _ in range(3):
        done = w("once", timeout=60)
        assert done.returncode == 0, done.stderr
    time.sleep(1)  # the server finishes the last answer nobody waits for
    found = copies(slack)
    assert set(found) == {("#a", "n0-0"), ("#b", "n0-1")} and max(found.values()) <= 2, found
    pending = sqlite3.connect(tmp_path / "db" / "watcher.db").execute(
        "select count(*) from alerts where status != 'sent'").fetchone()[0]
    assert pending == 0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_parse_workers_do_not_outlive_a_killed_parent(tmp_path, feeds, slack):
    w = make(tmp_path, feeds, slack)
    for i in range(12):  # enough sources for the process pool; each answers slowly
        feeds.set(f"/s{i}.xml", rss(feeds.base, items(0, 1)), delay=5)
    w.write("sources.yaml", sources(feeds.base, count=12, timeout="10s"))
    parent = w.popen("once")
    assert wait_for(lambda: len(children(parent.pid)) >= 2, 15), "no parse workers started"
    workers = children(parent.pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=5)
    assert wait_for(lambda: not any(alive(p) for p in workers), 5), [p for p in workers if alive(p)]


def test_terminal_output_carries_no_control_characters_from_feed_text(tmp_path, feeds):
    hostile = "공고 \x1b[2J\x1b]0;pwned\x07 키워드0 \x08\x08 지원 \u202egnp.exe"
    body = {"items": [{"id": "1", "title": hostile, "link": f"{feeds.base}/view?id=1",
                       "published": datetime.now(KST).isoformat(timespec="seconds")}]}
    feeds.set("/j.json", json.dumps(body), content_type="application/json")
    w = Watcher(tmp_path)  # no Slack: alerts are printed
    w.write("sources.yaml", f"sources:\n  - id: j\n    kind: json\n    url: {feeds.base}/j.json\n    items: items\n"
                            "    fields: {id: id, title: title, link: link, published: published}\n")
    w.write("rules.yaml", RULES)
    from watcher.models import Announcement, Hit, Source
    from watcher.store import Store

    store = Store(tmp_path / "db" / "watcher.db")  # a row stored before text was cleaned at the edge
    old = Announcement(source="j", id="old", title=hostile + " 옛날", link=f"{feeds.base}/view?id=old",
                       published=datetime.now(KST).isoformat(timespec="seconds"))
    store.ingest(Source(id="j", url=f"{feeds.base}/j.json", kind="json"), [(old, [Hit("r0", "#a", ("키워드0",))])],
                 datetime.now(KST), 14 * 86400)
    store.close()
    outputs = {"once": w("once"), "search": w("search", "지원"), "csv": w("search", "지원", "--csv"),
               "rules test": w("rules", "test")}
    for name, done in outputs.items():
        assert done.returncode == 0, (name, done.stderr)
        assert "pwned" in done.stdout and "지원" in done.stdout, (name, done.stdout)
        for bad in ("\x1b", "\x07", "\x08", "\u202e", "\x00"):
            assert bad not in done.stdout + done.stderr, (name, bad, done.stdout)
