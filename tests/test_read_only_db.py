"""#25 point 12: the read-only commands work on a read-only copy of the database (a read-only
mount: SQLite cannot create the WAL's -shm there), with or without a WAL holding data (real
processes; the mount needs root, the test is skipped otherwise)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from tests.e2e import KST, Watcher
from tests.serve_process import serving


@pytest.fixture()
def read_only(tmp_path):
    """(a folder to fill, the same folder mounted read-only)."""
    source, mount = tmp_path / "src", tmp_path / "ro"
    source.mkdir()
    mount.mkdir()
    done = subprocess.run(f"mount --bind {source} {mount} && mount -o remount,ro,bind {mount}", shell=True,
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot make a read-only bind mount here: {done.stderr.strip()}")
    try:
        yield source, mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def rss() -> str:
    when = format_datetime(datetime.now(KST) - timedelta(hours=2))
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
            "<item><title>강소특구 지원사업 공모</title><link>http://example.org/1</link>"
            f"<description>접수기간: 2026.01.01 ~ 2099.12.31</description><pubDate>{when}</pubDate></item>"
            "</channel></rss>")


@pytest.mark.parametrize("with_wal", [False, True], ids=["clean copy", "copy with its WAL"])
def test_read_only_commands_work_on_a_read_only_copy(tmp_path, feeds, read_only, with_wal):
    source, mount = read_only
    feeds.set("/f.xml", rss())
    w = Watcher(tmp_path)
    w.write("sources.yaml", f"sources:\n  - id: board\n    url: {feeds.url('/f.xml')}\n")
    w.write("rules.yaml", 'defaults:\n  channel: "#g"\nrules:\n  - name: teukgu\n    any: [강소특구]\n')
    assert w("once").returncode == 0
    (source / "db").mkdir()
    db = tmp_path / "db" / "watcher.db"
    if with_wal:  # a writer's last commits still in its WAL when the copy was made
        writer = sqlite3.connect(db)
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("UPDATE announcements SET title = title || ' (WAL)'")
        writer.commit()
        for name in ("watcher.db", "watcher.db-wal"):
            shutil.copyfile(tmp_path / "db" / name, source / "db" / name)
        writer.close()
    else:
        shutil.copyfile(db, source / "db" / "watcher.db")
    w.env["WATCHER_DB"] = str(mount / "db" / "watcher.db")
    title = "강소특구 지원사업 공모" + (" (WAL)" if with_wal else "")
    for args in (["status"], ["search", "특구"], ["rules", "test"], ["calendar"]):
        done = w(*args)
        assert done.returncode == 0, (args, done.stderr)
        if args[0] != "status":
            assert title in done.stdout, (args, done.stdout)
    assert [row["title"] for row in w.json("search", "특구")] == [title]
    with serving(w) as base:
        page = requests.get(base + "/search", params={"q": "특구"}, timeout=30)
        assert page.status_code == 200 and "지원사업 공모" + (" (WAL)" if with_wal else "") in page.text
    assert sorted(p.name for p in (mount / "db").iterdir()) == sorted(p.name for p in (source / "db").iterdir())
