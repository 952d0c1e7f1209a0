"""Reading a call (watcher/pipeline/details.py) piece by piece: which files are read, where the
deadline comes from, the alert's lines (watcher/notify/callinfo.py, notify/messages.py), what the
store keeps (watcher/store/texts.py: search, held alerts, status), and rules edits that keep what the
call's attachments matched."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from tests.attachments import PUBLISHED, real_file
from watcher.clock import KST
from watcher.match.matcher import Matcher
from watcher.models import Announcement, Detail, Rule, RuleSet, Source
from watcher.notify.callinfo import call_info
from watcher.notify.messages import build_message
from watcher.pipeline.details import FileRead, Reader, Reading, _deadline, _files, _picked, worth_reading
from watcher.pipeline.rematch import apply_rules
from watcher.store import Store

NOW = datetime(2026, 9, 1, 10, 0, tzinfo=KST)
SOURCE = Source(id="tp", url="https://www.tp.or.kr/board/list.do", kind="html", items="tr",
                fields={"title": "a"}, detail=Detail(body="div.view", files="div.files a"))


def names(links: list[tuple[str, str]]) -> list[FileRead]:
    return _files([(name, url, True) for name, url in links])


def test_one_file_per_document_forms_and_unreadable_types_listed_not_read():
    files = names([("[붙임1] 공고문(안).hwpx", "u1"), ("[붙임1] 공고문(안).odt", "u2"),
                   ("[붙임1] 공고문(안).hwp", "u3"),
                   ("[붙임2] 제출 양식.zip", "u4"), ("붙임3. 참가신청서.hwp", "u5"), ("안내 포스터.jpg", "u6"),
                   ("[붙임1] 공고문(안).hwp", "u3")])
    assert [(f.name, f.note) for f in files] == [
        ("[붙임1] 공고문(안).hwpx", "not read: the same as [붙임1] 공고문(안).hwp"),
        ("[붙임1] 공고문(안).odt", "not read: .odt"),
        ("[붙임1] 공고문(안).hwp", ""),
        ("[붙임2] 제출 양식.zip", "not read: .zip"),
        ("붙임3. 참가신청서.hwp", "form: not read"),
        ("안내 포스터.jpg", "not read: .jpg")]  # the repeated link once
    assert _files([("공고문.hwp", "https://elsewhere.kr/a.hwp", False)])[0].note == "not read: not on the source's site"


def test_notices_are_read_first_and_at_most_max_files():
    files = names([("3. 신청매뉴얼.pdf", "a"), ("결과 공고.pdf", "b"), ("(공고문) 모집.hwp", "c"),
                   ("붙임 자료.pdf", "d"), ("다운로드", "e")])
    assert [f.name for f in _picked(files, 2)] == ["(공고문) 모집.hwp", "결과 공고.pdf"]
    assert [f.note for f in files if f.note] == ["not read: over max_files 2"] * 3


def reading(ann: Announcement, body: str = "", period: str | None = None, **texts: str) -> Reading:
    return Reading("tp", ann, body, period, [FileRead(name, "u", text=text) for name, text in texts.items()])


ANN = Announcement("tp", "1", "2026년 지원사업 모집 공고", "https://www.tp.or.kr/view?no=1",
                   published="2026-08-31T00:00:00+09:00")
FORM_DATES = "신청서\n과제기간 2026.07.01.~2026.11.31."
NOTICE = "모집 공고\n접수기간 : 9. 1.(화) ~ 9. 18.(금) 18:00까지"


@pytest.mark.parametrize("read, deadline, source", [
    (reading(ANN, period="접 수 기 간 2026.09.01(화) 09:00 ~ 2026.09.20(일) 18:00", **{"공고문.hwp": NOTICE}),
     "2026-09-20", "period"),
    (reading(ANN, period="상시", **{"공고문.hwp": NOTICE}), None, None),  # the page's period decides
    (reading(ANN, body="신청기간 : 2026. 9. 1. ~ 2026. 9. 25.", **{"공고문.hwp": NOTICE}), "2026-09-25", "body"),
    (reading(ANN, body="문의: 051-000-0000", **{"신청서.hwp": FORM_DATES, "모집 공고.hwp": NOTICE}),
     "2026-09-18", "모집 공고.hwp"),  # the year from the published date
    (reading(ANN, **{"신청서.hwp": FORM_DATES, "서류평가 결과.pdf": "발표평가 : 9. 16.(수) 15:00"}), None, None),
    (reading(replace(ANN, deadline="2026-10-01"), **{"공고문.hwp": NOTICE}), None, None),  # the list's stands
])
def test_where_the_deadline_comes_from(read, deadline, source):
    _deadline(read, NOW)
    assert (read.deadline, read.deadline_from) == (deadline, source)


@pytest.mark.parametrize("ann, first, worth", [
    (ANN, False, True),
    (replace(ANN, published=None), False, True),
    (replace(ANN, published=None), True, False),  # a first poll's undated items are its baseline
    (replace(ANN, published="2026-07-01T00:00:00+09:00"), False, False),  # past max_age
    (replace(ANN, deadline="2026-08-31"), False, False),  # closed
])
def test_which_new_calls_are_worth_reading(ann, first, worth):
    assert worth_reading(ann, NOW, 14 * 86400, first) is worth


@pytest.mark.parametrize("text, expected", [
    ("1. 지원분야 : 의료기기\n2. 접수기간 : 2026. 9. 1. ~ 9. 18.\n3. 지원규모 : 총 4개 기업, 147.8백만원\n"
     "4. 지원대상 : 부산 소재 중소기업",
     {"period": ("접수기간", "2026. 9. 1. ~ 9. 18."), "budget": ("지원규모", "총 4개 기업, 147.8백만원"),
      "target": ("지원대상", "부산 소재 중소기업")}),
    ("접 수 기 간 2025.04.04(금) 09:00 ~ 2025.12.31(수) 18:00\n지 원 대 상\n부산시 소재 중소·중견기업",
     {"period": ("접수기간", "2025.04.04(금) 09:00 ~ 2025.12.31(수) 18:00"),
      "target": ("지원대상", "부산시 소재 중소·중견기업")}),
    ("마. 예산 : 총 3억원\n가. 신청자격 : ○ 공고일 현재 부산 소재 기업",
     {"budget": ("예산", "총 3억원"), "target": ("신청자격", "공고일 현재 부산 소재 기업")}),
    # words of the labels inside other words, a heading, a sentence: no line
    ("※ 취업지원대상자 가점\n접수마감일 현재 부산 소재\n신청대상 및 추진절차\n신청기간 내 제출", {}),
    ("지원규모 : 미정\n예산 소진 시까지", {}),  # no amount
])
def test_call_info_lines(text, expected):
    assert call_info([text]) == expected


def test_call_info_takes_the_first_text_stating_each():
    assert call_info(["지원대상 : 본문의 대상", "지원대상 : 공고문의 대상\n지원규모 : 5억원"]) == {
        "budget": ("지원규모", "5억원"), "target": ("지원대상", "본문의 대상")}


def test_alert_shows_the_call_lines_and_links_the_attachments():
    alert = {"title": "모집 공고", "link": "https://tp.or.kr/1", "source_name": "TP", "rules": [
        {"rule": "devices", "keywords": ["의료기기"], "words": [{"field": "attachments", "text": "의료기기"}]}],
        "call_info": {"period": ["접수기간", "9. 1. ~ 9. 18. <b>"], "target": ["지원대상", "중소기업"]},
        "files": [{"name": f"붙임{i}.hwp", "url": f"https://tp.or.kr/f?{i}"} for i in range(7)]}
    payload = build_message(alert, NOW)
    texts = [b["text"]["text"] for b in payload["blocks"] if b.get("text")]
    lines = next(t for t in texts if t.startswith("*접수기간*"))
    assert lines.split("\n") == [
        "*접수기간*: 9. 1. ~ 9. 18. &lt;b&gt;", "*지원대상*: 중소기업",
        "*첨부*: " + " · ".join(f"<https://tp.or.kr/f?{i}|붙임{i}.hwp>" for i in range(5)) + " 외 2개"]
    context = next(b for b in payload["blocks"] if b["type"] == "context")
    assert "의료기기 (첨부)" in context["elements"][0]["text"]
    assert "*첨부*" not in str(build_message({**alert, "call_info": {}, "files": []}, NOW))


# ---- what the store keeps ------------------------------------------------------------------------

RULES = RuleSet(rules=(Rule("devices", any=("의료기기",), fields=("title", "summary", "body", "attachments"),
                            channel="#devices"),), max_age=14 * 86400)


@pytest.fixture()
def store(tmp_path):
    s = Store(tmp_path / "w.db")
    yield s
    s.close()


def read_and_store(store: Store, ann: Announcement, files: dict[str, str | None], body: str = "",
                   rules: RuleSet = RULES) -> int:
    matcher = Matcher(rules)
    store.ingest(SOURCE, [(ann, matcher.match(ann))], NOW, rules.max_age)
    reader = Reader(None, None, None, store, lambda: NOW)  # type: ignore[arg-type]
    got = Reading("tp", ann, body, None, [FileRead(name, f"https://www.tp.or.kr/f/{n}", type="hwp", text=text,
                                                   error=None if text else "hwp: truncated file")
                                          for n, (name, text) in enumerate(files.items())])
    _deadline(got, NOW)
    return reader.record(SOURCE, got, matcher, rules.max_age)


def test_a_reading_is_searched_and_alerted_once(store):
    queued = read_and_store(store, ANN, {"(공고문) 모집.hwp": "지원분야 의료기기 실증\n" + NOTICE, "신청서.hwp": None})
    assert queued == 1
    [row] = store.search("의료기기")
    assert row["found"] == ["첨부: (공고문) 모집.hwp"] and row["deadline"] == "2026-09-18"
    assert row["attachments"] == [{"name": "(공고문) 모집.hwp", "url": "https://www.tp.or.kr/f/0", "type": "hwp"},
                                  {"name": "신청서.hwp", "url": "https://www.tp.or.kr/f/1", "type": "hwp"}]
    [alert] = store.pending_alerts(NOW)
    assert alert["rules"][0]["words"] == [{"field": "attachments", "text": "의료기기"}]
    assert [f["name"] for f in alert["files"]] == ["(공고문) 모집.hwp", "신청서.hwp"]
    assert store.reading_errors() == {"tp": "신청서.hwp: hwp: truncated file"}
    assert read_and_store(store, ANN, {"(공고문) 모집.hwp": "의료기기 다시"}) == 0  # once per channel
    assert store.search("실증") == [] and len(store.search("다시")) == 1  # read again: the old text left the index


def test_later_polls_keep_the_deadline_reading_found(store):
    read_and_store(store, ANN, {"(공고문) 모집.hwp": NOTICE})
    reader = Reader(None, None, None, store, lambda: NOW)  # type: ignore[arg-type]
    [(kept, _)] = reader.prepare(SOURCE, [(ANN, [])])
    assert kept.deadline == "2026-09-18"
    listed = replace(ANN, deadline="2026-09-30")  # the list states one now: it stands
    assert reader.prepare(SOURCE, [(listed, [])])[0][0].deadline == "2026-09-30"


def test_alerts_wait_for_the_reading_at_most_their_hold(store):
    ann = replace(ANN, title="2026년 의료기기 실증 지원 공고")
    store.ingest(SOURCE, [(ann, Matcher(RULES).match(ann))], NOW, RULES.max_age)
    assert store.hold_alerts("tp", [ann.id], NOW + timedelta(minutes=2)) == 1
    assert store.pending_alerts(NOW) == [] and len(store.pending_alerts(NOW + timedelta(minutes=2))) == 1
    store.release_alerts("tp", [ann.id])
    assert len(store.pending_alerts(NOW)) == 1


def test_a_rules_edit_keeps_what_only_the_attachments_matched(store):
    from watcher.models import Config

    read_and_store(store, ANN, {"(공고문) 모집.hwp": "지원분야 의료기기 실증"})
    edited = replace(RULES, rules=(*RULES.rules, Rule("teukgu", any=("강소특구",))))
    config = Config(sources=(SOURCE,), rules=edited)
    store.record_rules("{}", None)  # nothing usable in force: every rule, every stored item
    apply_rules(store, config, NOW)
    assert [r["rules"] for r in store.search("모집")] == [["devices"]]
    narrowed = replace(RULES, rules=(replace(RULES.rules[0], fields=("title",)),))
    apply_rules(store, Config(sources=(SOURCE,), rules=narrowed), NOW)
    assert [r["rules"] for r in store.search("모집")] == [[]]  # title only: no longer matched


def test_rules_test_sees_read_calls(store):
    read_and_store(store, ANN, {"(공고문) 모집.hwp": "지원분야 의료기기 실증"})
    [call] = store.with_readings(list(store.announcements()))
    assert Matcher(RULES).match(call)[0].words == (("attachments", "의료기기"),)


def test_a_real_notice_read_through_the_worker_gives_its_lines(store):
    from watcher.extract import extract
    from watcher.parse.detail import tidy

    text = tidy(extract(real_file("r07").read_bytes(), "r07.hwp").text)
    info = call_info([text])
    assert info["budget"] == ("지원규모", "총 4개 기업, 147.8백만원")
    assert info["period"][1].startswith("2025. 6. 09.(월) ~ 6. 20.(금)")
    read_and_store(store, replace(ANN, published=PUBLISHED.isoformat()), {"붙임1. 공고문(안).hwp": text})
    assert store.search("친환경에너지")[0]["found"] == ["첨부: 붙임1. 공고문(안).hwp"]


def test_rules_test_why_explains_a_match_only_the_attachments_hold(store):
    from watcher.match.why import explain

    read_and_store(store, ANN, {"(공고문) 모집.hwp": "지원분야 의료기기 실증"})
    [call] = store.with_readings(store.announcements_by_link(ANN.link, ANN.link))
    [why] = explain(RULES, call, "devices")
    assert why.as_dict()["matched"] and "의료기기 (첨부)" in why.as_dict()["detail"]
