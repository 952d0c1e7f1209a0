"""The team's pipeline in Slack (#26), end to end against local servers only: the Web API server of
the tests and a local Socket Mode WebSocket server. A click is acknowledged within 3 s, stored, and
the message rewritten in every channel; reminders follow the decision; `/공모` answers like `watcher
search`; App Home shows the member's calls; a dropped socket reconnects; other apps change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from tests.slack_server import SlackServer
from tests.team_helpers import (
    CHANNEL_IDS,
    NOW,
    RULES,
    ann,
    click,
    handled_after,
    home_opened,
    ingest,
    later,
    listening,
    message_of,
    send_all,
    slash,
    store_at,
    valid_payload,
    valid_view,
    wait_for,
)
from watcher.cli import cli


@pytest.fixture()
def slack() -> Iterator[SlackServer]:
    with SlackServer() as server:
        server.min_interval = 0
        server.channel_ids = dict(CHANNEL_IDS)
        server.users = {"U1": "kim", "U2": "lee"}
        yield server


def alert_id(store, channel: str = "#devices", n: int = 1) -> int:
    found = store.alert_of_message(f"https://www.ntis.go.kr/view?id={n}", channel)
    assert found is not None
    return found


def test_a_click_on_assign_is_acked_stored_and_updates_every_message_of_the_call(tmp_path, slack, socket_mode):
    store, db = store_at(tmp_path)
    ingest(store, ann(1, "2026년 의료기기 헬스케어 실증 지원사업 공고"))
    send_all(store, slack)
    devices, health = message_of(slack, "#devices", "의료기기"), message_of(slack, "#health", "의료기기")
    for message in (devices, health):  # buttons on every alert, valid blocks
        valid_payload(message)
        ids = [e.get("action_id") for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert ids[-6:] == ["team_assign", "team_state_reviewing", "team_state_planned", "team_state_applied",
                            "team_state_declined", "team_state_dismissed"]
    with listening(slack, socket_mode, db) as listener:
        before = listener.handled
        envelope = socket_mode.click(click(devices, "team_assign", str(alert_id(store)),
                                           response_url=slack.response_url(1)))
        ack = socket_mode.wait_ack(envelope)
        assert ack is not None and ack[1] < 3.0 and ack[0] == {"envelope_id": envelope}
        handled_after(listener, before)
        assert len(slack.updates) == 2  # the call's message in both channels
        for update in slack.updates:
            valid_payload(update)
            assert any("담당 <@U1>" in json.dumps(b, ensure_ascii=False) for b in update["blocks"])
        call = "https://www.ntis.go.kr/view?id=1"
        assert store.team_of([call])[call]["assignee"] == "U1"
        assert store.team_of([call])[call]["assignee_name"] == "kim"  # users.info

        before = listener.handled  # a state from the other channel's message: one call, one state
        envelope = socket_mode.click(click(health, "team_state_planned", str(alert_id(store, "#health")), user="U2",
                                           channel_id="C0HEALTH", channel_name="health"))
        assert socket_mode.wait_ack(envelope)[1] < 3.0
        handled_after(listener, before)
    assert store.team_of([call])[call]["state"] == "planned"
    last = {u["channel"]: u for u in slack.updates}
    for update in last.values():
        assert "담당 <@U1> · 지원 예정" in json.dumps(update["blocks"], ensure_ascii=False)
    history = store.team_history(call)
    assert [(h["action"], h["value"], h["user"]) for h in history] == [("assign", None, "U1"),
                                                                        ("state", "planned", "U2")]
    assert all(h["at"] for h in history)


def test_reminders_mention_the_assignee_and_stop_for_declined(tmp_path, slack, socket_mode):
    store, db = store_at(tmp_path)
    ingest(store, ann(1, "의료기기 인허가 지원 공고", deadline="2026-12-10"),
           ann(2, "체외진단 의료기기 실증 공고", deadline="2026-12-10"))
    send_all(store, slack)
    first, second = message_of(slack, "#devices", "인허가"), message_of(slack, "#devices", "체외진단")
    with listening(slack, socket_mode, db) as listener:
        for message, n, action in ((first, 1, "team_assign"), (second, 2, "team_assign"),
                                   (second, 2, "team_state_declined")):
            before = listener.handled
            socket_mode.click(click(message, action, str(alert_id(store, n=n)), response_url=slack.response_url()))
            handled_after(listener, before)
    store.queue_due(RULES, later(3))  # 7 days before 12-10
    send_all(store, slack, later(3))
    reminders = [m for m in slack.messages if m.get("thread_ts")]
    assert len(reminders) == 1 and reminders[0]["thread_ts"] == first["ts"]
    valid_payload(reminders[0])
    assert reminders[0]["text"].startswith("<@U1> ") and "<@U1>" in reminders[0]["blocks"][0]["text"]["text"]
    store.queue_due(RULES, later(8.1))  # 1 day before: the declined call stays quiet
    send_all(store, slack, later(8.1))
    assert [m["thread_ts"] for m in slack.messages if m.get("thread_ts")] == [first["ts"], first["ts"]]


def test_slash_search_answers_the_top_results_of_watcher_search(tmp_path, slack, socket_mode, monkeypatch):
    store, db = store_at(tmp_path)
    titles = [f"{n}차 의료기기 기술개발 지원사업 공고" for n in range(1, 15)] + ["디지털 헬스케어 공고"]
    ingest(store, *[ann(n, t, published=f"2026-11-{n:02d}T09:00:00+09:00") for n, t in enumerate(titles, 1)])
    monkeypatch.setenv("WATCHER_DB", str(db))
    cli_rows = json.loads(CliRunner().invoke(cli, ["search", "의료기기", "--json"]).output)
    with listening(slack, socket_mode, db) as listener:
        before = listener.handled
        envelope = socket_mode.slash(slash("의료기기", response_url=slack.response_url("s1")))
        assert socket_mode.wait_ack(envelope)[1] < 3.0
        handled_after(listener, before)
    reply = slack.responses[-1]["body"]
    assert reply["response_type"] == "ephemeral"
    valid_payload(reply)
    shown = [line for b in reply["blocks"][1:] if b["type"] == "section" for line in b["text"]["text"].split("\n")]
    assert len(shown) == 10
    for line, row in zip(shown, cli_rows, strict=False):
        assert row["title"] in line and "D-9" in line
    assert "검색 결과 14건 중 10건" in reply["blocks"][0]["text"]["text"]


def test_slash_mine_help_and_app_home(tmp_path, slack, socket_mode):
    store, db = store_at(tmp_path)
    ingest(store, ann(1, "의료기기 인허가 지원 공고", deadline="2026-12-10"),
           ann(2, "체외진단 의료기기 실증 공고", deadline="2026-12-05"),
           ann(3, "의료기기 수출 지원 공고", deadline="2026-12-30"))
    send_all(store, slack)
    first = message_of(slack, "#devices", "인허가")
    with listening(slack, socket_mode, db) as listener:
        before = listener.handled
        socket_mode.click(click(first, "team_state_reviewing", str(alert_id(store)), response_url=slack.response_url()))
        socket_mode.click(click(first, "team_assign", str(alert_id(store)), response_url=slack.response_url()))
        socket_mode.slash(slash("내담당", response_url=slack.response_url("mine")))
        socket_mode.slash(slash("도움말", response_url=slack.response_url("help")))
        envelope = socket_mode.event(home_opened("U1"))
        assert socket_mode.wait_ack(envelope)[1] < 3.0
        handled_after(listener, before + 4)
    mine, helped = slack.responses[-2]["body"], slack.responses[-1]["body"]
    assert "내 담당 공고 1건" in mine["text"] and "의료기기 인허가" in json.dumps(mine["blocks"], ensure_ascii=False)
    assert "검토 중" in json.dumps(mine["blocks"], ensure_ascii=False)
    assert "/공모 내담당" in helped["blocks"][0]["text"]["text"]
    for body in (mine, helped):
        valid_payload(body)
    view = slack.views[-1]
    assert view["user_id"] == "U1"
    valid_view(view["view"])
    text = json.dumps(view["view"], ensure_ascii=False)
    assert text.index("내 담당 공고 1건") < text.index("의료기기 인허가") < text.index("7일 안에 마감, 담당 없음 1건")
    assert "체외진단" in text and "수출" not in text  # 12-05 closes within 7 days, 12-30 does not


def test_a_dropped_socket_reconnects_and_the_next_click_works(tmp_path, slack, socket_mode):
    store, db = store_at(tmp_path)
    ingest(store, ann(1, "의료기기 인허가 지원 공고"))
    send_all(store, slack)
    message = message_of(slack, "#devices", "인허가")
    with listening(slack, socket_mode, db) as listener:
        socket_mode.drop()
        assert socket_mode.wait_connected(2, timeout=15), "no new connection after the drop"
        wait_for(lambda: listener.state.get("reconnects") == 1)
        before = listener.handled
        envelope = socket_mode.click(click(message, "team_assign", str(alert_id(store)),
                                           response_url=slack.response_url()))
        assert socket_mode.wait_ack(envelope)[1] < 3.0
        handled_after(listener, before)
        socket_mode.disconnect()  # Slack asks for a new connection
        assert socket_mode.wait_connected(3, timeout=15)
    assert slack.updates and "담당 <@U1>" in json.dumps(slack.updates[-1]["blocks"], ensure_ascii=False)
    state = store.socket_state()
    assert state is not None and state["state"] == "stopped" and state["reconnects"] >= 1


def test_events_of_another_app_or_workspace_and_unknown_calls_change_nothing(tmp_path, slack, socket_mode):
    store, db = store_at(tmp_path)
    ingest(store, ann(1, "의료기기 인허가 지원 공고"))
    send_all(store, slack)
    message = message_of(slack, "#devices", "인허가")
    target = str(alert_id(store))
    with listening(slack, socket_mode, db) as listener:
        before = listener.handled
        socket_mode.click(click(message, "team_assign", target, app="A0OTHER", response_url=slack.response_url("x1")))
        socket_mode.click(click(message, "team_assign", target, team="T0OTHER", response_url=slack.response_url("x2")))
        socket_mode.slash(slash("의료기기", app="A0OTHER", response_url=slack.response_url("x3")))
        socket_mode.event(home_opened(team="T0OTHER"))
        handled_after(listener, before + 3)
        assert slack.responses == [] and slack.views == [] and slack.updates == []
        before = listener.handled
        socket_mode.click(click(message, "team_assign", "99999", response_url=slack.response_url("u1")))
        socket_mode.click(click(message, "team_assign", target, channel_id="C0ELSE", channel_name="elsewhere",
                                response_url=slack.response_url("u2")))
        handled_after(listener, before + 1)
    assert slack.updates == []
    assert store.team_of(["https://www.ntis.go.kr/view?id=1"]) == {}
    replies = [r["body"] for r in slack.responses]
    assert len(replies) == 2 and all(r["response_type"] == "ephemeral" for r in replies)
    assert "아무것도 바꾸지 않았습니다" in replies[0]["text"] and "아무것도 바꾸지 않았습니다" in replies[1]["text"]
    assert NOW  # the fixed clock of the listener


def test_dismissed_and_missed_calls_show_in_rules_report_and_labels_export(tmp_path, slack, socket_mode,
                                                                            monkeypatch):
    from ruamel.yaml import YAML

    from watcher.match.matcher import Matcher
    from watcher.models import Announcement

    store, db = store_at(tmp_path)
    ingest(store, ann(1, "의료기기 인허가 지원 공고"), ann(2, "의료기기 전문인력 채용 공고"),
           ann(3, "체외진단 기기 임상 지원 공고"))  # 3: no rule matched it, stored, never alerted
    send_all(store, slack)
    kept, noise = message_of(slack, "#devices", "인허가"), message_of(slack, "#devices", "채용")
    with listening(slack, socket_mode, db) as listener:
        before = listener.handled
        socket_mode.click(click(kept, "team_state_planned", str(alert_id(store)), response_url=slack.response_url()))
        socket_mode.click(click(noise, "team_state_dismissed", str(alert_id(store, n=2)),
                                response_url=slack.response_url("d")))
        socket_mode.slash(slash("놓침 <https://www.ntis.go.kr/view?id=3&utm_source=slack>",
                                response_url=slack.response_url("m")))
        socket_mode.slash(slash("놓침 https://www.ntis.go.kr/view?id=1", response_url=slack.response_url("m2")))
        socket_mode.slash(slash("놓침 https://elsewhere.example/none", response_url=slack.response_url("m3")))
        handled_after(listener, before + 4)
    said = {r["path"].split("/")[3]: r["body"]["text"] for r in slack.responses}
    assert "관심 없음" in said["d"] and "devices (의료기기 (제목))" in said["d"]
    assert "놓친 공고로 표시했습니다" in said["m"] and "규칙 devices" in said["m"]  # the channel's only rule
    assert "이미 알림이 간 공고" in said["m2"] and "찾지 못했습니다" in said["m3"]

    monkeypatch.setenv("WATCHER_DB", str(db))
    rules = tmp_path / "rules.yaml"
    rules.write_text('rules:\n  - name: devices\n    any: [의료기기]\n    channel: "#devices"\n'
                     '  - name: health\n    any: [헬스케어]\n    channel: "#health"\n', encoding="utf-8")
    (tmp_path / "sources.yaml").write_text("sources:\n  - id: ntis\n    url: https://www.ntis.go.kr/rss\n",
                                           encoding="utf-8")
    monkeypatch.setenv("WATCHER_RULES", str(rules))
    monkeypatch.setenv("WATCHER_SOURCES", str(tmp_path / "sources.yaml"))
    result = CliRunner().invoke(cli, ["rules", "report", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    devices = next(r for r in report["rules"] if r["rule"] == "devices")
    assert (devices["alerted"], devices["kept"], devices["dismissed"], devices["none"]) == (2, 1, 1, 0)
    assert devices["dismissed_words"] == [["의료기기 (제목)", 1]]
    [missed] = report["missed"]
    assert missed["rule"] == "devices" and missed["title"] == "체외진단 기기 임상 지원 공고"
    assert "체외진단" in missed["words"] and "no word of any in title/summary" in missed["why"]
    text = CliRunner().invoke(cli, ["rules", "report"]).output
    assert "words a rule would need: 체외진단" in text and "dismissed (관심 없음) for: 의료기기 (제목)" in text

    out = tmp_path / "labels.yaml"
    result = CliRunner().invoke(cli, ["labels", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    items = YAML(typ="safe").load(out.read_text(encoding="utf-8"))["items"]
    labelled = {i["title"]: (i["labels"], i["provenance"]["team"]) for i in items}
    assert labelled == {"의료기기 인허가 지원 공고": (["devices"], "kept"),
                        "의료기기 전문인력 채용 공고": ([], "dismissed"),
                        "체외진단 기기 임상 지원 공고": (["devices"], "missed")}
    matcher = Matcher(RULES)  # scored as tests/test_rules_corpus.py scores the real corpus
    verdicts = [{h.rule for h in matcher.match(Announcement(source=i["kind"], id=str(n), title=i["title"], link=None,
                                                              summary=i.get("summary", ""), agency=i.get("agency")))}
                for n, i in enumerate(items)]
    assert verdicts == [{"devices"}, {"devices"}, set()]  # the export shows what the rules get wrong


def test_a_digest_has_a_menu_per_call_and_a_choice_rewrites_it(tmp_path, slack, socket_mode):
    store, db = store_at(tmp_path)
    ingest(store, *[ann(n, f"의료기기 {n}차 지원 공고", deadline=f"2026-12-{10 + n}") for n in range(1, 8)])
    send_all(store, slack)
    [digest] = slack.messages_for("#devices")
    valid_payload(digest)
    menus = [e for b in digest["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert len(menus) == 7 and all(m["type"] == "static_select" for m in menus)
    third = alert_id(store, n=3)
    menu = next(m for m in menus if m["action_id"] == f"team_pick_{third}")
    assert "의료기기 3차" in menu["placeholder"]["text"]
    assert [o["value"] for o in menu["options"]][:2] == [f"{third}:assign", f"{third}:reviewing"]
    with listening(slack, socket_mode, db) as listener:
        before = listener.handled
        socket_mode.click(click(digest, menu["action_id"], f"{third}:planned", select=True,
                                response_url=slack.response_url()))
        handled_after(listener, before)
    [update] = slack.updates
    valid_payload(update)
    lines = "\n".join(b["text"]["text"] for b in update["blocks"] if b["type"] == "section")
    assert [ln for ln in lines.split("\n") if "지원 예정" in ln] == [
        next(ln for ln in lines.split("\n") if "의료기기 3차" in ln)]
    assert len([b for b in update["blocks"] if b["type"] == "actions"]) == 1


def test_an_update_slack_refuses_for_now_goes_through_the_outbox(tmp_path, slack, socket_mode):
    store, db = store_at(tmp_path)
    ingest(store, ann(1, "의료기기 인허가 지원 공고"))
    send_all(store, slack)
    message = message_of(slack, "#devices", "인허가")
    store.remember_member("U1", "kim", NOW)  # no users.info: the next request is chat.update
    with listening(slack, socket_mode, db) as listener:
        before = listener.handled
        slack.fail_next(1, 503)
        socket_mode.click(click(message, "team_assign", str(alert_id(store)), response_url=slack.response_url()))
        handled_after(listener, before)
    assert slack.updates == []
    send_all(store, slack)  # the outbox rewrites it, with the team's line and buttons
    [update] = slack.updates
    valid_payload(update)
    assert update["ts"] == message["ts"] and "담당 <@U1>" in json.dumps(update["blocks"], ensure_ascii=False)
    assert [b for b in update["blocks"] if b.get("block_id") == f"team:{alert_id(store)}"]


def test_the_app_home_button_takes_the_call_and_publishes_the_home_again(tmp_path, slack, socket_mode):
    store, db = store_at(tmp_path)
    ingest(store, ann(1, "의료기기 인허가 지원 공고", deadline="2026-12-05"))
    send_all(store, slack)
    with listening(slack, socket_mode, db) as listener:
        before = listener.handled
        socket_mode.event(home_opened("U2"))
        handled_after(listener, before)
        button = next(b["accessory"] for b in slack.views[-1]["view"]["blocks"] if b.get("accessory"))
        payload = {"type": "block_actions", "api_app_id": "A0TEAM", "team": {"id": "T0000"},
                   "user": {"id": "U2", "name": "lee", "team_id": "T0000"},
                   "container": {"type": "view", "view_id": "V1"}, "view": {"id": "V1", "type": "home"},
                   "actions": [{**button, "type": "button", "block_id": "h"}], "trigger_id": "t"}
        before = listener.handled
        socket_mode.click(payload)
        handled_after(listener, before)
    assert store.team_of([CALL1])[CALL1]["assignee"] == "U2"
    home = json.dumps(slack.views[-1]["view"], ensure_ascii=False)
    assert "내 담당 공고 1건" in home and "담당 없음 0건" in home
    assert "담당 <@U2>" in json.dumps(slack.updates[-1]["blocks"], ensure_ascii=False)


def test_the_morning_summary_shows_state_and_assignee_and_leaves_out_calls_set_aside(tmp_path, slack):
    from dataclasses import replace

    from watcher.models import RuleSet

    store, _ = store_at(tmp_path)
    ingest(store, ann(1, "의료기기 인허가 지원 공고", deadline="2026-12-05"),
           ann(2, "의료기기 채용 공고", deadline="2026-12-06"), ann(3, "의료기기 수출 공고", deadline="2026-12-07"))
    send_all(store, slack)
    store.record_action(CALL1, "assign", None, "U1", "kim", NOW)
    store.record_action(CALL1, "state", "planned", "U1", "kim", NOW)
    store.record_action("https://www.ntis.go.kr/view?id=2", "state", "dismissed", "U1", "kim", NOW)
    rules = RuleSet(rules=tuple(replace(r, summary_at="09:00", remind=()) for r in RULES.rules))
    store.queue_due(rules, NOW)
    send_all(store, slack)
    [summary] = [m for m in slack.messages_for("#devices") if "마감 임박" in m["text"]]
    valid_payload(summary)
    body = json.dumps(summary["blocks"], ensure_ascii=False)
    assert "인허가 지원 공고> — D-4 (12-05) · 보건복지부 · NTIS · 담당 @kim · 지원 예정" in body
    assert "수출 공고" in body and "채용 공고" not in body and "<@U1>" not in body


CALL1 = "https://www.ntis.go.kr/view?id=1"
