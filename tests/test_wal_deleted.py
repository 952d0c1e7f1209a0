"""#25 point 12: the database's WAL deleted under a running `watcher run` (a clean-up script, a
restore): `run` notices, saves what it committed and stops (exit 1, one line), instead of going on in
a file no other process reads and sending again what `once` sends (real processes, local servers)."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections import Counter
from datetime import datetime, timedelta
from email.utils import format_datetime

from tests.e2e import KST, Watcher


def rss(keys: range) -> str:
    when = format_datetime(datetime.now(KST) - timedelta(hours=2))
    items = "".join(f"<item><title>바우처 공고 {k}</title><link>http://example.org/n{k}</link><pubDate>{when}</pubDate>"
                    "</item>" for k in keys)
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


def sent(slack) -> Counter:
    return Counter(k for m in slack.messages for k in set(re.findall(r"example\.org/(n\d+)", m["text"] or "")))


def test_a_wal_deleted_under_run_stops_it_and_nothing_is_sent_twice(tmp_path, feeds, slack):
    slack.min_interval = 0
    feeds.set("/f.xml", rss(range(3)))
    w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url})
    w.write("sources.yaml", f"sources:\n  - id: board\n    url: {feeds.url('/f.xml')}\n    interval: 1m\n")
    w.write("rules.yaml", 'defaults:\n  channel: "#g"\n  digest_over: 50\nrules:\n  - name: r\n    any: [바우처]\n')
    proc = w.popen("run")
    try:
        end = time.monotonic() + 30
        while len(sent(slack)) < 3 and time.monotonic() < end:
            time.sleep(0.1)
        assert len(sent(slack)) == 3
        (tmp_path / "db" / "watcher.db-wal").unlink()
        feeds.set("/f.xml", rss(range(6)))  # three new items for `once`
        time.sleep(2)
        done = w("once")
        assert done.returncode == 0, done.stderr
        w.write("sources.yaml", f"sources:\n  - id: board\n    url: {feeds.url('/f.xml')}\n    interval: 2m\n")
        try:
            _, err = proc.communicate(timeout=20)  # it stopped on its own
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    counts = sent(slack)
    assert set(counts) == {f"n{k}" for k in range(6)} and set(counts.values()) == {1}, counts
    assert proc.returncode == 1, err[-2000:]
    assert "WAL file" in err and "deleted or replaced" in err and "Traceback" not in err, err[-2000:]
