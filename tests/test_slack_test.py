"""`watcher slack test`: one Korean test message per channel, each Slack error one line saying what to do."""

from __future__ import annotations

from click.testing import CliRunner

from watcher.cli import cli

RULES = """\
defaults:
  channel: "#gongmo"
  ops_channel: "#ops"
rules:
  - name: a
    any: [특구]
  - name: b
    any: [의료기기]
    channel: "#devices"
"""


def slack_test(tmp_path, env, *args):
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    clean = {"SLACK_BOT_TOKEN": None, "SLACK_WEBHOOK_URL": None, "SLACK_API_URL": None, **env}
    return CliRunner().invoke(cli, ["--rules", str(tmp_path / "rules.yaml"), "slack", "test", *args], env=clean)


def bot_env(slack, token=None):
    return {"SLACK_BOT_TOKEN": token or slack.token, "SLACK_API_URL": slack.url}


def test_success_posts_one_korean_message_to_the_channel(tmp_path, slack):
    result = slack_test(tmp_path, bot_env(slack), "--channel", "#gongmo")
    assert result.exit_code == 0, result.output
    assert result.output == "#gongmo: ok, test message posted as @UBOT\n"
    [message] = slack.messages
    assert message["channel"] == "#gongmo"
    assert "연결 테스트" in message["text"] and "#gongmo 채널로 공모 알림" in message["text"]


def test_without_channel_every_channel_of_the_rules_is_tested(tmp_path, slack):
    result = slack_test(tmp_path, bot_env(slack))
    assert result.exit_code == 0, result.output
    assert [m["channel"] for m in slack.messages] == ["#gongmo", "#devices", "#ops"]


def test_not_in_channel_says_to_invite_the_bot_or_add_chat_write_public(tmp_path, slack):
    slack.channel_errors["#private"] = "not_in_channel"
    result = slack_test(tmp_path, bot_env(slack), "--channel", "#private")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "#private: not_in_channel: the bot is not a member of #private: type `/invite @UBOT` in #private, "
        "or add the chat:write.public scope to the app and reinstall it"
    ]
    assert slack.messages == []


def test_invalid_auth_says_which_token_to_copy(tmp_path, slack):
    result = slack_test(tmp_path, bot_env(slack, token="xoxb-wrong"), "--channel", "#gongmo")
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith("#gongmo: invalid_auth: SLACK_BOT_TOKEN is not a valid token: copy the Bot User OAuth")
    assert "Traceback" not in result.output


def test_channel_not_found_says_to_check_the_name(tmp_path, slack):
    slack.channel_errors["#nope"] = "channel_not_found"
    result = slack_test(tmp_path, bot_env(slack), "--channel", "#nope", "--channel", "#gongmo")
    assert result.exit_code == 1  # one channel failed, the other one still got its message
    assert result.output.splitlines()[0].startswith("#nope: channel_not_found: no channel #nope that the bot can see")
    assert [m["channel"] for m in slack.messages] == ["#gongmo"]


def test_missing_token_is_one_line_and_exit_1(tmp_path):
    result = slack_test(tmp_path, {}, "--channel", "#gongmo")
    assert result.exit_code == 1
    assert result.output.startswith("missing token: set SLACK_BOT_TOKEN")
    assert len(result.output.splitlines()) == 1


def test_unreachable_slack_names_the_network(tmp_path):
    env = {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    result = slack_test(tmp_path, env, "--channel", "#gongmo")
    assert result.exit_code == 1
    assert result.output.startswith("#gongmo: cannot reach Slack (")


def test_webhook_posts_once_to_its_own_channel(tmp_path, slack):
    result = slack_test(tmp_path, {"SLACK_WEBHOOK_URL": slack.webhook_url})
    assert result.exit_code == 0, result.output
    assert [m["via"] for m in slack.messages] == ["webhook"]
    assert "the webhook's channel: ok, test message posted" in result.output
