"""#25 point 7: reminders are checked again when they are sent. Slack down while a `3d` reminder is
due, back at D-1: only the D-1 reminder goes; back after the deadline: none (real `watcher once`
processes with the clock moved by libfaketime, a local feed and a local Slack)."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta

import pytest

from tests.e2e import KST, Watcher, fill

pytestmark = pytest.mark.skipif(shutil.which("faketime") is None,
                                reason="faketime not installed (Debian package faketime; `make test` installs it)")

RULES = """\
defaults:
  channel: "#gongmo"
  remind: [3d, 1d]
rules:
  - name: ai
    any: [AI 바우처]
"""


def feed(deadline: datetime) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
            "<item><title>2026년 AI 바우처 지원사업 시행 공고</title><link>{base}/view?id=7</link>"
            f"<description>접수기간: {{dot_m1}} ~ {deadline:%Y.%m.%d}</description><pubDate>{{rfc_m1}}</pubDate>"
            "</item></channel></rss>")


@pytest.fixture()
def setup(tmp_path, feeds, slack):
    slack.min_interval = 0
    feeds.set("/f.xml", fill(feed(datetime.now(KST) + timedelta(days=5)), feeds.base))
    # a failed send waits an hour: `once` does not sit out the retry, the next (a day later) sends it
    w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url,
                           "WATCHER_RETRY_BASE": "3600"})
    w.write("sources.yaml", f"sources:\n  - id: board\n    url: {feeds.url('/f.xml')}\n    timeout: 5s\n")
    w.write("rules.yaml", RULES)
    done = w("once")
    assert done.returncode == 0, done.stderr
    assert len(slack.messages) == 1 and "D-5" in slack.messages[0]["text"]
    return w, slack


def once_at(w: Watcher, days: int) -> None:
    done = w.run_with(("faketime", "-f", f"+{days}d"), "once")
    assert done.returncode == 0, done.stderr


def reminders(slack) -> list[str]:
    return [m["text"] for m in slack.messages if m["thread_ts"]]


def test_slack_back_at_d1_sends_only_the_d1_reminder(setup):
    w, slack = setup
    slack.fail_next(1, 503)  # Slack down while the 3d reminder is due (D-3)
    once_at(w, 2)
    assert reminders(slack) == [] and len(slack.rejected) == 1
    once_at(w, 4)  # back at D-1
    sent = reminders(slack)
    assert len(sent) == 1 and sent[0].startswith("마감 1일 전: ") and "(D-1)" in sent[0], sent
    once_at(w, 4)
    assert len(reminders(slack)) == 1


def test_slack_back_after_the_deadline_sends_no_reminder(setup):
    w, slack = setup
    slack.fail_next(1, 503)
    once_at(w, 2)  # the 3d reminder is queued, Slack refuses it
    slack.fail_next(1, 503)
    once_at(w, 4)  # and again at D-1 (the channel waits after one failure: one request)
    assert reminders(slack) == [] and len(slack.rejected) >= 2
    once_at(w, 6)  # Slack back the day after the deadline
    assert reminders(slack) == []
