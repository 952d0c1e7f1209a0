"""Slack payloads: pure functions, table-driven."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from watcher.notify.messages import KST, build_digest, build_message, build_ops, d_day, escape, safe_url

NOW = datetime(2026, 8, 21, 10, 0, tzinfo=KST)


def alert(**over: Any) -> dict[str, Any]:
    row = {
        "id": 1,
        "kind": "announcement",
        "channel": "#devices",
        "key": "https://www.ntis.go.kr/view?id=1",
        "title": "2026년 의료기기 실증 지원사업 공고",
        "link": "https://www.ntis.go.kr/view?id=1&x=2",
        "source": "ntis",
        "source_name": "NTIS 국가R&D 사업공고",
        "agency": "산업통상자원부",
        "published": "2026-08-20T09:00:00+09:00",
        "deadline": "2026-08-28",
        "rules": json.dumps([{"rule": "devices", "keywords": ["의료기기"], "mention": None}]),
    }
    row.update(over)
    return row


def validate(payload: dict[str, Any]) -> None:
    """Every block parses as a slack_sdk block model and validates; the text fallback is short."""
    assert payload["text"] and len(payload["text"]) < 4000
    for block in payload["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()
        assert parsed.to_dict() == block


def mrkdwn_texts(payload: dict[str, Any]) -> list[str]:
    """Every mrkdwn text of every block, whatever its nesting."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload["blocks"])
    return found


@pytest.mark.parametrize(
    "raw, escaped",
    [
        ("R&D", "R&amp;D"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U123> hi", "&lt;@U123&gt; hi"),
        ("<http://evil|click>", "&lt;http://evil|click&gt;"),
        ("&amp;", "&amp;amp;"),
        ("강소특구 *공모*", "강소특구 *공모*"),
    ],
)
def test_escape(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped


@pytest.mark.parametrize(
    "deadline, today, expected",
    [
        ("2026-08-28", date(2026, 8, 21), "D-7"),
        ("2026-08-22", date(2026, 8, 21), "D-1"),
        ("2026-08-21", date(2026, 8, 21), "D-day"),
        ("2026-08-20", date(2026, 8, 21), "마감"),
        ("2026-08-21T18:00:00+09:00", date(2026, 8, 21), "D-day"),
        (None, date(2026, 8, 21), None),
        ("", date(2026, 8, 21), None),
        ("상시 접수", date(2026, 8, 21), None),
    ],
)
def test_d_day(deadline: str | None, today: date, expected: str | None) -> None:
    assert d_day(deadline, today) == expected


@pytest.mark.parametrize(
    "link, expected",
    [
        ("https://a.kr/view?id=1&b=2", "https://a.kr/view?id=1&amp;b=2"),
        ("HTTP://A.kr/x", "http://a.kr/x"),  # the canonical form, as every shown link (README § Alerts)
        ("https://a.kr/v;jsessionid=Q?utm_source=x&id=1", "https://a.kr/v?id=1"),
        ("https://a.kr/x|<!channel>", "https://a.kr/x%7C%3C!channel%3E"),
        ("https://a.kr/공고 1", "https://a.kr/%EA%B3%B5%EA%B3%A0%201"),
        ("https://a.kr/a%20b", "https://a.kr/a%20b"),
        ("javascript:alert(1)", None),
        ("mailto:x@y.kr", None),
        ("/relative/path", None),
        ("https://", None),
        ("", None),
        (None, None),
        ("https://a.kr/" + "x" * 2000, None),
    ],
)
def test_safe_url(link: str | None, expected: str | None) -> None:
    assert safe_url(link) == expected


def test_message_shows_every_field() -> None:
    payload = build_message(alert(), NOW)
    validate(payload)
    section = payload["blocks"][0]
    assert section["text"]["text"] == "*<https://www.ntis.go.kr/view?id=1&amp;x=2|2026년 의료기기 실증 지원사업 공고>*"
    fields = [f["text"] for f in section["fields"]]
    assert fields == [
        "*출처*\nNTIS 국가R&amp;D 사업공고",
        "*기관*\n산업통상자원부",
        "*게시일*\n2026-08-20",
        "*마감*\n2026-08-28 (D-7)",
    ]
    assert payload["blocks"][1]["elements"][0]["text"] == "규칙: *devices* (의료기기)"
    [button] = payload["blocks"][2]["elements"]
    assert (button["text"]["text"], button["url"]) == ("공고 보기", "https://www.ntis.go.kr/view?id=1&x=2")
    assert payload["text"] == "2026년 의료기기 실증 지원사업 공고 · D-7\nhttps://www.ntis.go.kr/view?id=1&amp;x=2"


@pytest.mark.parametrize(
    "over, missing",
    [
        ({"agency": None}, "*기관*"),
        ({"deadline": None}, "*마감*"),
        ({"published": None}, "*게시일*"),
    ],
)
def test_message_leaves_out_what_is_unknown(over: dict[str, Any], missing: str) -> None:
    fields = [f["text"] for f in build_message(alert(**over), NOW)["blocks"][0]["fields"]]
    assert not any(f.startswith(missing) for f in fields)


def test_mentions_go_first_verbatim_once() -> None:
    rules = [
        {"rule": "devices", "keywords": ["의료기기"], "mention": "<!subteam^S0123>"},
        {"rule": "devices-too", "keywords": ["체외진단"], "mention": "<!subteam^S0123>"},
        {"rule": "boss", "keywords": ["공모"], "mention": "<@U999>"},
    ]
    payload = build_message(alert(rules=rules), NOW)
    assert payload["text"].startswith("<!subteam^S0123> <@U999> 2026년")
    assert payload["blocks"][0]["text"]["text"].startswith("<!subteam^S0123> <@U999> *<https://")
    assert (
        "*devices* (의료기기) · *devices-too* (체외진단) · *boss* (공모)" in payload["blocks"][1]["elements"][0]["text"]
    )


HOSTILE = alert(
    title="<!channel> 긴급 <@U123> <http://evil.example|NTIS 로그인> & more",
    link="https://real.example/a|<!here>",
    source_name="<!everyone>",
    agency="<@U777>",
    deadline="2026-08-30",
    rules=[{"rule": "<!channel>", "keywords": ["<@U1>"], "mention": None}],
)

# Anything of Slack's own syntax that a feed could smuggle in: a mention, a special mention, a link.
FORGED = re.compile(r"<[!@#]|<https?://evil|<mailto:")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(build_message(HOSTILE, NOW), id="message"),
        pytest.param(build_digest([HOSTILE] * 7, NOW)[0], id="digest"),
        pytest.param(build_ops({"kind": "ops", "text": "source failed: <!channel> <http://evil|x>"}), id="ops"),
    ],
)
def test_hostile_feed_text_never_pings_or_forges_links(payload: dict[str, Any]) -> None:
    for text in [payload["text"], *mrkdwn_texts(payload)]:
        assert not FORGED.search(text), text
        # the only `<...>` left are our own links, whose target is a percent-encoded http(s) URL
        for inner in re.findall(r"<([^>]*)>", text):
            url = inner.split("|", 1)[0]
            assert url == "https://real.example/a%7C%3C!here%3E", inner
    assert "&lt;!channel&gt;" in payload["text"]


def test_hostile_link_is_dropped_when_not_http() -> None:
    payload = build_message(alert(link="javascript:alert(1)", title="x"), NOW)
    assert payload["blocks"][0]["text"]["text"] == "*x*"
    assert payload["text"] == "x · D-7"
    assert all(b["type"] != "actions" for b in payload["blocks"])  # no button to a non-http link


def test_rules_as_list_or_json_give_the_same_message() -> None:
    rules = [{"rule": "devices", "keywords": ["의료기기"], "mention": None}]
    assert build_message(alert(rules=rules), NOW) == build_message(alert(rules=json.dumps(rules)), NOW)


def test_digest_names_all_in_one_message() -> None:
    alerts = [alert(id=i, title=f"공고 {i}", link=f"https://a.kr/{i}") for i in range(12)]
    [payload] = build_digest(alerts, NOW)
    validate(payload)
    assert payload["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "새 공고 12건"}}
    body = "\n".join(b["text"]["text"] for b in payload["blocks"][1:])
    for i in range(12):
        assert f"<https://a.kr/{i}|공고 {i}>" in body
        assert f"• 공고 {i} (D-7)" in payload["text"]
    assert "— D-7 (08-28) · 산업통상자원부 · NTIS 국가R&amp;D 사업공고" in body
    assert "(1/" not in payload["text"]


@pytest.mark.parametrize(
    "count, title_len, parts",
    [
        (40, 20, 1),  # a long list still fits one message
        (100, 140, 3),  # long titles: the 4,000 characters of `text` force a split
        (300, 20, 3),
    ],
)
def test_digest_splits_only_where_slack_limits_demand(count: int, title_len: int, parts: int) -> None:
    alerts = [alert(id=i, title=f"{i:04d}" + "가" * title_len, link=f"https://a.kr/{i}") for i in range(count)]
    payloads = build_digest(alerts, NOW)
    assert len(payloads) == parts
    listed: list[str] = []
    for number, payload in enumerate(payloads, 1):
        validate(payload)
        assert len(payload["blocks"]) <= 50
        assert len(payload["text"]) < 4000
        if number < parts:  # full: the next part's first line would not have fitted
            next_line = payloads[number]["text"].split("\n")[1]
            assert len(payload["text"]) + len(next_line) > 3800 or len(payload["blocks"]) >= 48
        if parts > 1:
            assert f"({number}/{parts})" in payload["blocks"][0]["text"]["text"]
            assert f"({number}/{parts})" in payload["text"]
        listed += re.findall(r"<https://a\.kr/(\d+)\|", "\n".join(b["text"]["text"] for b in payload["blocks"][1:]))
    assert listed == [str(i) for i in range(count)]


def test_digest_lines_closest_deadline_first_open_ended_last() -> None:
    deadlines = ["2026-09-30", None, "2026-08-22", "2026-08-25", None, "2026-08-21", "2026-08-20"]
    alerts = [alert(id=i, title=f"공고 {i}", link=f"https://a.kr/{i}", deadline=d) for i, d in enumerate(deadlines)]
    [payload] = build_digest(alerts, NOW)
    order = re.findall(r"<https://a\.kr/(\d+)\|", payload["blocks"][1]["text"]["text"])
    assert order == ["6", "5", "2", "3", "0", "1", "4"]  # 08-20 (closed) … 09-30, then no deadline
    assert "*D-1 (08-22)*" in payload["blocks"][1]["text"]["text"]  # D-3 and closer in bold
    assert "— D-40 (09-30) ·" in payload["blocks"][1]["text"]["text"]
    assert "• 공고 1 (마감 미정)" in payload["text"]


def test_digest_mentions_once_at_the_start() -> None:
    rules = [{"rule": "devices", "keywords": ["의료기기"], "mention": "<!subteam^S1>"}]
    payloads = build_digest([alert(id=i, rules=rules) for i in range(6)], NOW)
    assert payloads[0]["text"].startswith("<!subteam^S1> 새 공고 6건")
    assert payloads[0]["blocks"][1]["text"]["text"] == "<!subteam^S1>"  # a header cannot mention


def test_ops_message() -> None:
    payload = build_ops({"kind": "ops", "text": "source 'NTIS' (ntis) has failed since 2026-08-20: fetch: timeout"})
    assert (
        payload["text"] == ":warning: gongmo-watcher: source 'NTIS' (ntis) has failed since 2026-08-20: fetch: timeout"
    )
    assert "fetch: timeout" in payload["blocks"][0]["text"]["text"]
