"""A new set-up that is not working says so: a source that never succeeded makes `status --check`
unhealthy after its first polls, and `once --fail-on-alerts` tells cron that alerts failed."""

from __future__ import annotations

import pytest

from tests.e2e import Watcher, fill, fixture_text
from tests.feed_server import FeedServer

RULES = 'defaults:\n  channel: "#gongmo"\nrules:\n  - name: health\n    any: [디지털헬스케어]\n'


@pytest.fixture()
def setup(tmp_path, slack):
    with FeedServer() as feeds:
        feeds.set("/rss.xml", fill(fixture_text("rss.xml"), feeds.base))
        w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url})
        w.write("sources.yaml", f"""\
sources:
  - id: good
    url: {feeds.base}/rss.xml
  - id: moved
    url: {feeds.base}/gone.xml
""")
        w.write("rules.yaml", RULES)
        yield w


def test_a_source_that_never_succeeded_is_unhealthy_after_its_first_polls(setup):
    assert setup("once").returncode == 0  # contract: once ran
    first = setup("status", "--check")
    assert first.returncode == 0, first.stdout  # one failed first poll may be a passing hiccup
    assert setup("once").returncode == 0
    second = setup("status", "--check")
    assert second.returncode == 1
    assert "source moved: never succeeded (2 polls failed since" in second.stdout
    assert "watcher sources test moved" in second.stdout
    assert "good" not in second.stdout


def test_once_exits_0_with_a_failed_alert_and_3_with_fail_on_alerts(setup, slack):
    slack.channel_errors["#gongmo"] = "not_in_channel"
    plain = setup("once")
    assert plain.returncode == 0
    assert "alert not delivered: #gongmo: slack: not_in_channel" in plain.stderr
    setup("alerts", "retry", "--all", "--no-send")
    strict = setup("once", "--fail-on-alerts")
    assert strict.returncode == 3, strict.stderr
    del slack.channel_errors["#gongmo"]
    setup("alerts", "retry", "--all", "--no-send")
    fine = setup("once", "--fail-on-alerts")
    assert fine.returncode == 0 and "alert not delivered" not in fine.stderr
