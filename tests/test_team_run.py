"""`watcher run` with team actions on (#26), a real process: it posts alerts with the team's buttons,
listens over Socket Mode, acts on a click, and says so in `watcher status`; SIGTERM still ends it."""

from __future__ import annotations

import json
import signal
import time

from tests.e2e import Watcher
from tests.team_helpers import click
from tests.test_run import rss, wait_for


def test_run_listens_acts_on_a_click_and_reports_the_connection(tmp_path, feeds, slack, socket_mode):
    slack.min_interval = 0
    slack.users = {"U1": "kim"}
    slack.socket_url = socket_mode.url
    feeds.set("/f.xml", rss([("1", "의료기기 인허가 지원 공고")]))
    w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url,
                           "SLACK_APP_TOKEN": slack.app_token, "WATCHER_SOCKET_PING": "0.5"})
    w.write("sources.yaml", f"sources:\n  - id: board\n    url: {feeds.url('/f.xml')}\n    interval: 10m\n")
    w.write("rules.yaml", 'rules:\n  - name: devices\n    any: [의료기기]\n    channel: "#devices"\n')
    proc = w.popen("run")
    try:
        assert wait_for(lambda: slack.messages_for("#devices"), 30), proc.stderr
        [message] = slack.messages_for("#devices")
        value = next(e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                     if e.get("action_id") == "team_assign")
        assert socket_mode.wait_connected(1, 20)
        assert wait_for(lambda: "slack socket mode: connected" in w("status").stdout, 20)
        envelope = socket_mode.click(click(message, "team_assign", value, channel_id="#devices",
                                           channel_name="devices", response_url=slack.response_url()))
        ack = socket_mode.wait_ack(envelope, 10)
        assert ack is not None and ack[1] < 3.0
        assert wait_for(lambda: slack.updates, 20)
        assert "담당 <@U1>" in json.dumps(slack.updates[-1]["blocks"], ensure_ascii=False)
        rows = w.json("search", "의료기기")
        assert rows[0]["assignee"] == "kim" and rows[0]["state"] is None
    finally:
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        proc.wait(30)
    assert proc.returncode == 0 and time.monotonic() - started < 10
    assert "slack socket mode: stopped" in w("status").stdout
