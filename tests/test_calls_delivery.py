"""One call across portals, changes, reminders and morning summaries: a real Store on a SQLite file,
delivery to the local Slack Web API server. Every message Slack receives is validated with
slack_sdk's block models."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from tests.slack_server import SlackServer
from watcher.deliver.loop import deliver
from watcher.deliver.senders import SlackSender, make_sender
from watcher.models import Announcement, Hit, Rule, RuleSet, Source
from watcher.notify.messages import KST
from watcher.store import Store

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=KST)
DAY = 86_400.0
MAX_AGE = 14 * DAY
NTIS = Source(id="ntis", url="https://www.ntis.go.kr/rss", name="NTIS")
BIZINFO = Source(id="bizinfo", url="https://www.bizinfo.go.kr/rss", name="기업마당")
KSTARTUP = Source(id="kstartup", url="https://www.k-startup.go.kr/rss", name="K-Startup")
TITLE = "2026년 AI 바우처 지원사업 공고"
RULES = RuleSet(rules=(Rule(name="ai", any=("AI",), channel="#gongmo", remind=(DAY,)),))


@pytest.fixture()
def slack() -> Iterator[SlackServer]:
    with SlackServer() as server:
        server.min_interval = 0
        yield server


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "db" / "watcher.db")


def bot(slack: SlackServer) -> SlackSender:
    sender = make_sender({"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url}, timeout=2)
    assert isinstance(sender, SlackSender)
    sender.interval = 0
    return sender


def ann(source: Source, title: str = TITLE, deadline: str | None = "2026-12-10", id: str = "1",  # noqa: A002
        published: str = "2026-11-30T09:00:00+09:00") -> Announcement:
    link = f"https://{source.id}.example.kr/view?id={id}"
    return Announcement(source=source.id, id=id, title=title, link=link, published=published, deadline=deadline,
                        agency="과학기술정보통신부", canonical=link)


def ingest(store: Store, source: Source, *anns: Announcement, now: datetime = NOW) -> None:
    store.ingest(source, [(a, [Hit(rule="ai", channel="#gongmo", keywords=("AI",))]) for a in anns], now, MAX_AGE)


def settle(store: Store, sender: Any, now: datetime = NOW, rounds: int = 4) -> None:
    """Delivery rounds until nothing is left that can go (a follow-up waits one round for its message)."""
    for _ in range(rounds):
        report = deliver(store, sender, now, 5)
        if not report.messages:
            return


def valid(message: dict[str, Any]) -> dict[str, Any]:
    assert message["text"] and len(message["text"]) < 4000
    for block in message["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()
    return message


def top_level(slack: SlackServer) -> list[dict[str, Any]]:
    return [valid(m) for m in slack.messages if not m.get("thread_ts")]


def statuses(store: Store) -> list[tuple[str, str]]:
    return [tuple(r) for r in store.conn.execute("SELECT kind, status FROM alerts ORDER BY id")]


# ---- one call across portals ---------------------------------------------------------------------

def test_a_call_on_three_portals_is_one_message_and_one_thread_note(store: Store, slack: SlackServer) -> None:
    ingest(store, NTIS, ann(NTIS))
    ingest(store, BIZINFO, ann(BIZINFO, "[경기] 2026년 AI 바우처 지원사업 공고", id="PBLN_1"))
    ingest(store, KSTARTUP, ann(KSTARTUP, "2026년 AI 바우처 지원사업", deadline=None, id="179001"))
    settle(store, bot(slack))

    [original] = top_level(slack)
    assert "ntis.example.kr" in original["text"]
    [note] = slack.replies_to(original["ts"])
    valid(note)
    text = note["blocks"][0]["text"]["text"]
    assert text == ("다른 곳에도 게시: <https://bizinfo.example.kr/view?id=PBLN_1|기업마당> · "
                    "<https://kstartup.example.kr/view?id=179001|K-Startup>")
    assert len(slack.messages) == 2
    settle(store, bot(slack), NOW + timedelta(hours=1))
    assert len(slack.messages) == 2  # never again


def test_a_copy_seen_later_adds_a_note_to_the_thread(store: Store, slack: SlackServer) -> None:
    ingest(store, NTIS, ann(NTIS))
    settle(store, bot(slack))
    ingest(store, BIZINFO, ann(BIZINFO, "[경기] 2026년 AI 바우처 지원사업 공고", id="PBLN_1"),
           now=NOW + timedelta(days=2))
    settle(store, bot(slack), NOW + timedelta(days=2))
    [original] = top_level(slack)
    [note] = slack.replies_to(original["ts"])
    assert note["text"] == "다른 곳에도 게시: 기업마당 https://bizinfo.example.kr/view?id=PBLN_1"


@pytest.mark.parametrize("other", [
    ann(BIZINFO, "2027년 AI 바우처 지원사업 공고", id="2"),  # another year
    ann(BIZINFO, "2026년 2차 AI 바우처 지원사업 공고", id="2"),  # another round
    ann(BIZINFO, TITLE, deadline="2026-12-20", id="2"),  # another deadline
])
def test_other_calls_each_get_their_message(store: Store, slack: SlackServer, other: Announcement) -> None:
    ingest(store, NTIS, ann(NTIS))
    ingest(store, BIZINFO, other)
    settle(store, bot(slack))
    assert len(top_level(slack)) == 2 and not [m for m in slack.messages if m.get("thread_ts")]


def test_the_same_link_under_another_title_stays_one_call(store: Store, slack: SlackServer) -> None:
    """A copy became the call's first; the agency's item and a re-post of it under another title
    share one canonical link: still one announcement, one message."""
    ingest(store, BIZINFO, ann(BIZINFO, "[경기] 2026년 AI 바우처 지원사업 공고", id="PBLN_1"))
    own = ann(NTIS)
    ingest(store, NTIS, own)
    repost = replace(own, source="atom", id="x", title="AI 바우처 지원사업 (재게시)")
    ingest(store, Source(id="atom", url="https://a.kr/atom"), repost)
    settle(store, bot(slack))
    assert len(top_level(slack)) == 1


def test_an_announcement_bridging_two_calls_joins_them_before_any_is_sent(store: Store, slack: SlackServer) -> None:
    """Order: a portal's copy, a re-post under another title of the agency's link, then the agency's item
    itself (the re-post's link, the copy's title): one message, the rest in its thread."""
    own = ann(NTIS)
    ingest(store, BIZINFO, ann(BIZINFO, "[경기] 2026년 AI 바우처 지원사업 공고", id="PBLN_1"))
    ingest(store, Source(id="atom", url="https://a.kr/atom"),
           replace(own, source="atom", id="x", title="AI 바우처 지원사업 (재게시)"))
    ingest(store, NTIS, own)
    settle(store, bot(slack))
    [original] = top_level(slack)
    assert [valid(m)["text"].split(" ")[0] for m in slack.replies_to(original["ts"])] == ["다른"]


def test_the_same_title_published_over_60_days_later_is_another_call(store: Store, slack: SlackServer) -> None:
    ingest(store, NTIS, ann(NTIS, deadline=None, published="2026-09-01T09:00:00+09:00"), now=at("2026-09-01"))
    ingest(store, BIZINFO, ann(BIZINFO, deadline=None, id="2"))
    settle(store, bot(slack))
    assert len(top_level(slack)) == 2


# ---- changes -------------------------------------------------------------------------------------

def test_a_deadline_moved_at_the_source_gives_one_reply_and_one_update(store: Store, slack: SlackServer) -> None:
    slack.channel_ids = {"#gongmo": "C0GONGMO"}  # Slack answers ids; chat.update takes only the id
    ingest(store, NTIS, ann(NTIS, deadline="2026-12-10"))
    settle(store, bot(slack))
    [original] = top_level(slack)
    assert "2026-12-10 (D-9)" in str(original["blocks"])

    later = NOW + timedelta(days=1)
    ingest(store, NTIS, ann(NTIS, deadline="2026-12-24"), now=later)
    settle(store, bot(slack), later)
    [reply] = slack.replies_to(original["ts"])
    valid(reply)
    assert reply["text"] == "변경: 마감 12-10 → 12-24 (D-22)"
    [update] = slack.updates
    assert update["ts"] == original["ts"] and update["channel"] == "#gongmo"
    assert "2026-12-24 (D-22)" in str(update["blocks"]) and "D-22" in update["text"]
    valid(update)
    assert len(top_level(slack)) == 1  # the original, rewritten

    ingest(store, NTIS, ann(NTIS, deadline="2026-12-24"), now=later + timedelta(hours=1))
    settle(store, bot(slack), later + timedelta(hours=1))
    assert len(slack.messages) == 2 and len(slack.updates) == 1  # nothing changed: nothing said


def test_a_change_of_a_call_shown_in_a_digest_replies_there_and_leaves_the_digest(store: Store,
                                                                                  slack: SlackServer) -> None:
    ingest(store, NTIS, *(ann(NTIS, f"2026년 AI {i}번 사업 공고", id=str(i)) for i in range(6)))
    settle(store, bot(slack))
    [digest] = top_level(slack)
    assert digest["blocks"][0]["type"] == "header"
    ingest(store, NTIS, ann(NTIS, "2026년 AI 3번 사업 공고", id="3", deadline="2026-12-24"))
    settle(store, bot(slack))
    [reply] = slack.replies_to(digest["ts"])
    assert reply["text"] == "변경: 마감 12-10 → 12-24 (D-23)"
    assert not slack.updates and ("update", "skipped") in statuses(store)


def test_a_correction_copy_on_another_portal_changes_the_call(store: Store, slack: SlackServer) -> None:
    ingest(store, NTIS, ann(NTIS, deadline="2026-12-10"))
    settle(store, bot(slack))
    ingest(store, BIZINFO, ann(BIZINFO, "[정정] 2026년 AI 바우처 지원사업 공고 (접수기간 연장)",
                               deadline="2026-12-24", id="9"))
    settle(store, bot(slack))
    [original] = top_level(slack)
    replies = slack.replies_to(original["ts"])
    change = next(r for r in replies if r["text"].startswith("변경"))
    assert change["text"].startswith("변경: 마감 12-10 → 12-24 (D-23)\n기업마당: [정정]")
    assert "2026-12-24 (D-23)" in str(slack.updates[0]["blocks"])
    assert store.call_deadlines([original_key(store)]) == {original_key(store): "2026-12-24"}


def original_key(store: Store) -> str:
    return store.conn.execute("SELECT key FROM alerts WHERE kind = 'announcement'").fetchone()[0]


def test_webhook_replies_are_new_messages_and_updates_are_skipped(store: Store, slack: SlackServer) -> None:
    sender = make_sender({"SLACK_WEBHOOK_URL": slack.webhook_url})
    sender.interval = 0
    ingest(store, NTIS, ann(NTIS, deadline="2026-12-10"))
    settle(store, sender)
    ingest(store, NTIS, ann(NTIS, deadline="2026-12-24"))
    settle(store, sender)
    assert [m["text"].split("\n")[0] for m in slack.messages] == [f"{TITLE} · D-9", "변경: 마감 12-10 → 12-24 (D-23)"]
    assert not slack.updates
    assert ("update", "skipped") in statuses(store) and ("change", "sent") in statuses(store)


# ---- reminders -----------------------------------------------------------------------------------

def at(day: str, clock: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00").replace(tzinfo=KST)


def test_one_reminder_at_d1_in_the_thread_then_nothing(store: Store, slack: SlackServer) -> None:
    ingest(store, NTIS, ann(NTIS, deadline="2026-12-10"))
    settle(store, bot(slack))
    sender = bot(slack)
    for moment, queued in [(at("2026-12-08"), 0), (at("2026-12-09", "00:05"), 1), (at("2026-12-09", "10:00"), 0),
                           (at("2026-12-10"), 0), (at("2026-12-11"), 0)]:
        assert store.queue_due(RULES, moment) == queued, moment
        settle(store, sender, moment)
    [original] = top_level(slack)
    [reminder] = slack.replies_to(original["ts"])
    valid(reminder)
    assert reminder["text"].startswith(f"마감 1일 전: {TITLE} · 마감 2026-12-10 (D-1)")


def test_reminders_due_while_down_only_the_closest_and_none_after_the_deadline(store: Store,
                                                                              slack: SlackServer) -> None:
    rules = RuleSet(rules=(replace(RULES.rules[0], remind=(7 * DAY, DAY)),))
    ingest(store, NTIS, ann(NTIS, deadline="2026-12-10"), ann(NTIS, title="2026년 AI 실증 지원 공고", id="2",
                                                             deadline="2026-12-05"))
    settle(store, bot(slack), at("2026-12-01"))
    # down from 12-01 to 12-09: the 7d reminders were due on 12-03 and 11-28; 12-05 has passed
    assert store.queue_due(rules, at("2026-12-09")) == 1
    settle(store, bot(slack), at("2026-12-09"))
    reminders = [m for m in slack.messages if m.get("thread_ts")]
    assert [m["text"].split(" · ")[0] for m in reminders] == [f"마감 1일 전: {TITLE}"]
    kinds = [s for s in statuses(store) if s[0] == "remind"]
    assert sorted(kinds) == [("remind", "sent"), ("remind", "skipped")]  # the 7d one is dropped, never late


def test_no_reminder_without_remind(store: Store, slack: SlackServer) -> None:
    ingest(store, NTIS, ann(NTIS, deadline="2026-12-10"))
    settle(store, bot(slack))
    rules = RuleSet(rules=(replace(RULES.rules[0], remind=()),))
    assert store.queue_due(rules, at("2026-12-09")) == 0


# ---- morning summary -----------------------------------------------------------------------------

def test_morning_summary_once_a_day_sorted_by_deadline_nothing_when_empty(store: Store, slack: SlackServer) -> None:
    rules = RuleSet(rules=(replace(RULES.rules[0], remind=(), summary_at="09:00"),))
    ingest(store, NTIS, ann(NTIS, title="2026년 AI 가 사업 공고", id="a", deadline="2026-12-08"),
           ann(NTIS, title="2026년 AI 나 사업 공고", id="b", deadline="2026-12-03"),
           ann(NTIS, title="2026년 AI 다 사업 공고", id="c", deadline="2026-12-30"),  # beyond 7 days
           ann(NTIS, title="2026년 AI 라 사업 공고", id="d", deadline="2026-11-30"),  # closed
           ann(NTIS, title="2026년 AI 마 사업 공고", id="e", deadline=None))
    ingest(store, BIZINFO, ann(BIZINFO, "[경기] 2026년 AI 나 사업 공고", id="x", deadline="2026-12-03"))  # a copy
    settle(store, bot(slack), at("2026-12-01", "08:00"))
    before = len(slack.messages)
    assert store.queue_due(rules, at("2026-12-01", "08:59")) == 0
    assert store.queue_due(rules, at("2026-12-01", "09:00")) == 1
    settle(store, bot(slack), at("2026-12-01", "09:00"))
    assert store.queue_due(rules, at("2026-12-01", "18:00")) == 0  # once a day
    [summary] = slack.messages[before:]
    valid(summary)
    assert summary["blocks"][0]["text"]["text"] == "마감 임박 공고 2건 (12/1, 7일 이내)"
    assert re.findall(r"\|2026년 AI (.) 사업 공고>", summary["blocks"][1]["text"]["text"]) == ["나", "가"]
    assert "*D-2 (12-03)*" in summary["blocks"][1]["text"]["text"]

    empty = RuleSet(rules=(Rule(name="none", any=("없음",), channel="#empty", summary_at="09:00"),))
    assert store.queue_due(empty, at("2026-12-02", "09:30")) == 0
    settle(store, bot(slack), at("2026-12-02", "09:30"))
    assert not slack.messages_for("#empty")
