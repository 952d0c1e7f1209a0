"""The team's Slack payloads (#26) are valid for slack_sdk's models (every block parses, validates and
round-trips; views as View), stay within Slack's limits, escape what members and sources wrote, and
leave alerts exactly as they were when team actions are off."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.slack_server import SlackServer
from tests.team_helpers import NOW, RULES, ann, ingest, send_all, store_at, valid_payload, valid_view
from watcher.errors import ConfigError
from watcher.notify import team as views
from watcher.notify.messages import build_message, build_reminder, build_summary, digest_parts
from watcher.notify.teamtext import state_code, status_line
from watcher.team.settings import app_id_of, team_settings

TODAY = date(2026, 12, 1)


def alert(n: int, **extra: object) -> dict:
    return {"id": n, "kind": "announcement", "key": f"k{n}", "channel": "#devices",
            "title": f"의료기기 {n}차 <b>공고</b>",
            "link": f"https://x.example/{n}?a=1&b=2", "deadline": "2026-12-05", "agency": "보건복지부",
            "source_name": "NTIS", "rules": [{"rule": "devices", "keywords": ["의료기기"],
                                              "words": [{"field": "title", "text": "의료기기"}]}], **extra}


TEAM = {"state": "planned", "assignee": "U0KIM", "assignee_name": "kim <admin>"}


def test_an_alert_with_buttons_and_status_validates():
    payload = views.decorate_message(build_message(alert(1), NOW), 1, TEAM)
    valid_payload(payload)
    status = payload["blocks"][-2]["elements"][0]["text"]
    assert status == "담당 <@U0KIM> · 지원 예정"
    labels = [e["text"]["text"] for e in payload["blocks"][-1]["elements"]]
    assert labels == ["내가 맡기", "검토 중", "지원 예정", "지원 완료", "지원 안 함", "관심 없음"]
    assert payload["text"].endswith("\n담당 <@U0KIM> · 지원 예정")
    bare = views.decorate_message(build_message(alert(1), NOW), 1, None)
    valid_payload(bare)
    assert bare["text"] == build_message(alert(1), NOW)["text"] and bare["blocks"][-1]["type"] == "actions"


def test_a_digest_of_forty_calls_gets_forty_menus_in_two_blocks():
    alerts = [alert(n) for n in range(1, 41)]
    for payload, listed in digest_parts(alerts, NOW):
        out = views.decorate_digest(payload, [(a["id"], a["title"]) for a in listed])
        valid_payload(out)
        menus = [e for b in out["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert len(menus) == len(listed) and all(len(b["elements"]) <= 25 for b in out["blocks"]
                                                 if b["type"] == "actions")
        assert all(len(m["placeholder"]["text"]) <= 150 for m in menus)


def test_reminder_summary_and_replies_validate():
    reminder = views.mention_assignee(build_reminder(alert(1), "1일", NOW), TEAM)
    valid_payload(reminder)
    assert reminder["text"].startswith("<@U0KIM> ")
    summary = build_summary([{**alert(1), "team": TEAM}, alert(2)], "2026-12-01", NOW)
    valid_payload(summary)
    body = json.dumps(summary["blocks"], ensure_ascii=False)
    assert "담당 @kim &lt;admin&gt; · 지원 예정" in body and "<@U0KIM>" not in body  # a summary pings nobody
    rows = [{**alert(n), "state": "검토 중", "assignee": "lee"} for n in range(1, 11)]
    for reply in (views.search_reply("의료기기", rows, 25, TODAY, "https://desk.example/search?q=x"),
                  views.search_reply("없는말", [], 0, TODAY), views.mine_reply(rows, TODAY),
                  views.mine_reply([], TODAY), views.help_reply(), views.ephemeral("x < y & z")):
        valid_payload(reply)
        assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    line = views.call_line(rows[0], TODAY)
    assert line.startswith("• <https://x.example/1?a=1&amp;b=2|의료기기 1차 &lt;b&gt;공고&lt;/b&gt;> — D-4 (12-05)")
    assert line.endswith(" · 보건복지부 · 검토 중 · 담당 @lee")


def test_app_home_validates_and_stays_within_100_blocks():
    mine = [{**alert(n), "state": "planned"} for n in range(1, 80)]
    unassigned = [{**alert(n), "alert_id": n, "call": f"k{n}"} for n in range(100, 220)]
    view = views.home_view(mine, unassigned, TODAY)
    valid_view(view)
    assert len(view["blocks"]) <= 100 and view["type"] == "home"
    buttons = [b["accessory"] for b in view["blocks"] if b.get("accessory")]
    assert buttons and all(b["action_id"] == "team_home_assign" for b in buttons)
    assert "외 " in json.dumps(view["blocks"][-1], ensure_ascii=False)
    valid_view(views.home_view([], [], TODAY))


@pytest.mark.parametrize("action,expected", [
    ({"action_id": "team_assign", "value": "12"}, (12, "assign")),
    ({"action_id": "team_state_declined", "value": "3"}, (3, "declined")),
    ({"action_id": "team_pick_4", "selected_option": {"value": "4:dismissed"}}, (4, "dismissed")),
    ({"action_id": "team_home_assign", "value": "5"}, (5, "assign")),
    ({"action_id": "open_announcement", "value": "1"}, None),
    ({"action_id": "team_state_deleted", "value": "1"}, None),
    ({"action_id": "team_assign", "value": "1; DROP"}, None),
    ({"action_id": "team_pick_4", "selected_option": {"value": "4:nothing"}}, None),
])
def test_only_our_actions_with_sound_values_are_read(action, expected):
    assert views.parse_action(action) == expected


def test_states_read_as_people_write_them():
    assert state_code("지원예정") == state_code("지원 예정") == state_code("planned") == "planned"
    assert state_code("관심없음") == "dismissed" and state_code("아무거나") is None
    assert status_line({"state": "reviewing"}) == "담당 없음 · 검토 중"
    assert status_line({"assignee": "U1"}) == "담당 <@U1>" and status_line(None) == ""


def test_team_actions_need_both_tokens_and_an_app_token():
    assert team_settings({"SLACK_WEBHOOK_URL": "https://hooks.slack.com/x", "SLACK_APP_TOKEN": "xapp-1-A1-2-x"}) is None
    assert team_settings({"SLACK_BOT_TOKEN": "xoxb-1"}) is None
    with pytest.raises(ConfigError):
        team_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"})
    settings = team_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1-A0123ABCD-99-secret"})
    assert settings is not None and settings.app_id == "A0123ABCD" and settings.api_url == "https://slack.com/api/"
    assert app_id_of("xapp-garbage") is None


def test_without_team_actions_alerts_are_unchanged(tmp_path):
    """A bot token alone (and a webhook alone, which never has team actions): the payload is build_message's."""
    store, _ = store_at(tmp_path)
    ingest(store, ann(1, "의료기기 인허가 지원 공고"))
    row = next(r for r in store.pending_alerts(NOW) if r["channel"] == "#devices")
    with SlackServer() as slack:
        slack.min_interval = 0
        send_all(store, slack, team=False)
        [sent] = slack.messages_for("#devices")
    expected = build_message({**row, "deadline": "2026-12-10"}, NOW)
    assert sent["blocks"] == expected["blocks"] and sent["text"] == expected["text"]
    assert "team_" not in json.dumps(sent["blocks"])


def test_a_final_state_skips_pending_reminders_and_stops_new_ones(tmp_path):
    store, _ = store_at(tmp_path)
    ingest(store, ann(1, "의료기기 인허가 지원 공고", deadline="2026-12-10"))
    with SlackServer() as slack:
        slack.min_interval = 0
        send_all(store, slack)
    call = "https://www.ntis.go.kr/view?id=1"
    later = NOW.replace(day=3)
    assert store.queue_reminders(RULES, later) == 1  # 7 days before
    store.record_action(call, "state", "applied", "U1", "kim", later)
    assert [r for r in store.pending_alerts(later) if r["kind"] == "remind"] == []
    assert store.queue_reminders(RULES, NOW.replace(day=9, hour=12)) == 0
    store.record_action(call, "state", "reviewing", "U1", "kim", later)  # taken up again: reminders resume
    assert store.queue_reminders(RULES, NOW.replace(day=9, hour=12)) == 1
    assert [h["value"] for h in store.team_history(call)] == ["applied", "reviewing"]


def test_with_only_a_webhook_alerts_are_unchanged_even_with_an_app_token(tmp_path):
    from watcher.deliver.loop import deliver
    from watcher.deliver.senders import make_sender
    from watcher.team.render import team_view

    store, _ = store_at(tmp_path)
    ingest(store, ann(1, "의료기기 인허가 지원 공고"))
    row = next(r for r in store.pending_alerts(NOW) if r["channel"] == "#devices")
    with SlackServer() as slack:
        slack.min_interval = 0
        env = {"SLACK_WEBHOOK_URL": slack.webhook_url, "SLACK_APP_TOKEN": slack.app_token}
        view = team_view(env, store)
        assert view is None
        sender = make_sender(env, timeout=2)
        sender.interval = 0
        deliver(store, sender, NOW, 5, team=view)
        sent = slack.messages[0]
    expected = build_message({**row, "deadline": "2026-12-10"}, NOW)
    assert sent["via"] == "webhook" and sent["blocks"] == expected["blocks"] and sent["text"] == expected["text"]
    assert [e["action_id"] for b in sent["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
        "open_announcement"]
