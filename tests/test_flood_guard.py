"""#25 point 12: a rules edit that makes many stored announcements match sends one summary message
per channel, not dozens of digests (real `watcher once` processes, a local feed and a local Slack)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from email.utils import format_datetime

from tests.e2e import KST, Watcher

NONE = 'defaults:\n  channel: "#g"\nrules:\n  - name: r\n    any: [존재하지않는말]\n'
ALL = 'defaults:\n  channel: "#g"\n  public_url: https://desk.example\nrules:\n  - name: r\n    any: [바우처]\n'


def rss(n: int) -> str:
    when = format_datetime(datetime.now(KST) - timedelta(hours=3))
    items = "".join(f"<item><title>바우처 지원사업 제{i:03d}호 공고</title><link>http://example.org/{i}</link>"
                    f"<pubDate>{when}</pubDate></item>" for i in range(n))
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


def test_an_edit_matching_hundreds_of_stored_items_sends_one_summary_message(tmp_path, feeds, slack):
    slack.min_interval = 0
    feeds.set("/f.xml", rss(300))
    w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url})
    w.write("sources.yaml", f"sources:\n  - id: board\n    url: {feeds.url('/f.xml')}\n")
    w.write("rules.yaml", NONE)
    assert w("once").returncode == 0 and slack.messages == []
    w.write("rules.yaml", ALL)  # now all 300 stored announcements match
    done = w("once")
    assert done.returncode == 0, done.stderr
    assert len(slack.messages) == 1, [m["text"][:80] for m in slack.messages]
    [message] = slack.messages
    assert message["text"].startswith("새 공고 300건") and "외 " in message["text"]
    assert "https://desk.example/search?matched=1" in str(message["blocks"])
    conn = sqlite3.connect(tmp_path / "db" / "watcher.db")
    assert conn.execute("SELECT status, count(*) FROM alerts GROUP BY status").fetchall() == [("sent", 300)]
