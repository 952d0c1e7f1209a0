"""What a read call looks like to people: `watcher attachment FILE...` (the text of files, read as
polling reads them), the desk's call page (/call) with the matched words highlighted, search rows
linking to it, and /status naming a failing file."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from io import BytesIO
from urllib.parse import quote

from click.testing import CliRunner

from tests.attachments import real_file
from tests.hwp_synth import notice
from watcher.cli import cli
from watcher.clock import KST
from watcher.match.matcher import Matcher
from watcher.models import Announcement, Detail, Rule, RuleSet, Source
from watcher.pipeline.details import FileRead, Reader, Reading
from watcher.store import Store
from watcher.web.app import make_app

KEYS = ["file", "type", "chars", "deadline", "text", "error"]


def attachment(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["attachment", *args])
    return result.exit_code, result.output


def test_attachment_json_holds_exactly_the_contract_keys(tmp_path):
    good = tmp_path / "(공고문) 모집 공고.hwp"
    good.write_bytes(notice("모집 공고", "지원분야 : 의료기기", "접수기간 : 2026. 9. 1.(화) ~ 9. 18.(금) 18:00"))
    form = tmp_path / "참가신청서.hwp"
    form.write_bytes(notice("참가신청서", "신청기간 : 2026. 1. 1. ~ 2026. 1. 9."))
    code, out = attachment(str(good), str(form), "--published", "2026-08-31", "--json")
    rows = json.loads(out)
    assert code == 0 and [list(r) for r in rows] == [KEYS, KEYS]
    assert rows[0] == {"file": str(good), "type": "hwp", "chars": len(rows[0]["text"]), "deadline": "2026-09-18",
                       "text": "모집 공고\n지원분야 : 의료기기\n접수기간 : 2026. 9. 1.(화) ~ 9. 18.(금) 18:00",
                       "error": None}
    assert rows[1]["deadline"] is None and rows[1]["error"] is None  # a form never gives a deadline


def test_attachment_exits_1_when_a_file_cannot_be_read(tmp_path):
    lying = tmp_path / "공고문.hwp"
    lying.write_bytes("<!DOCTYPE html><html>없는 파일</html>".encode())
    code, out = attachment(str(lying), str(tmp_path / "missing.pdf"), "--json")
    rows = json.loads(out)
    assert code == 1
    assert rows[0]["type"] is None and rows[0]["error"].startswith("sniff: not HWP, HWPX or PDF (name says hwp")
    assert rows[1]["error"] == "extract: No such file or directory" and rows[1]["chars"] == 0


def test_attachment_prints_type_characters_deadline_and_first_lines():
    path = real_file("r11")
    code, out = attachment(str(path), "--published", "2025-06-01")
    lines = out.splitlines()
    assert code == 0 and lines[0] == str(path)
    assert lines[1].startswith("  hwp · ") and lines[1].endswith("characters · deadline 2025-06-30")
    assert lines[2] == "  | 재단법인 부산테크노파크 공고 제2025-251호" and len(lines) == 7


# ---- the desk ------------------------------------------------------------------------------------

NOW = datetime.now(KST)
SOURCE = Source(id="tp", url="https://www.tp.or.kr/list", name="테스트TP", kind="html", items="tr",
                fields={"title": "a"}, detail=Detail(body="div.view", files="div.files a"))
RULES = RuleSet(rules=(Rule("devices", any=("의료기기",), fields=("title", "body", "attachments")),))
ANN = Announcement("tp", "1", "2026년 지원사업 모집 공고", "https://www.tp.or.kr/view?no=1",
                   published=(NOW - timedelta(days=1)).isoformat(timespec="seconds"))


def stored(tmp_path) -> str:
    path = tmp_path / "w.db"
    store = Store(path)
    store.ingest(SOURCE, [(ANN, [])], NOW, RULES.max_age)
    reading = Reading("tp", ANN, "지원 안내 <script>alert(1)</script>", None, [
        FileRead("(공고문) 모집.hwp", "https://www.tp.or.kr/f/1", "hwp", 71000, 40,
                 text="지원분야 : 의료기기\n접수기간 : 상시"),
        FileRead("신청서.hwp", "https://www.tp.or.kr/f/2", "hwp", note="form: not read"),
        FileRead("안내.pdf", "javascript:alert(1)", "pdf", error="fetch: HTTP 404 Not Found")],
        info={"period": ("접수기간", "상시")})
    Reader(None, None, None, store, lambda: NOW).record(SOURCE, reading, Matcher(RULES), RULES.max_age)  # type: ignore
    store.close()
    return str(path)


def get(app, path: str) -> tuple[str, str]:
    out: dict[str, str] = {}
    path, _, query = path.partition("?")
    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query,
                         "wsgi.input": BytesIO()}, lambda status, headers: out.update(status=status)))
    return out["status"], body.decode()


def test_call_page_shows_the_reading_with_matched_words_marked(tmp_path):
    app = make_app(stored(tmp_path))
    status, html = get(app, "/call?source=tp&id=1&q=" + quote("지원분야"))
    assert status == "200 OK"
    assert "<mark>의료기기</mark>" in html and "<mark>지원분야</mark>" in html
    assert "&lt;script&gt;" in html and "<script>alert" not in html  # the page's text, escaped
    assert '<a href="https://www.tp.or.kr/f/1"' in html and "71 KB" in html and "40자" in html
    assert "form: not read" in html and "읽지 못함: fetch: HTTP 404 Not Found" in html
    assert 'href="javascript:' not in html  # only http(s) links are links
    assert "<dt>접수기간</dt><dd>상시</dd>" in html
    assert get(app, "/call?source=tp&id=nope")[0] == "404 Not Found"


def test_search_rows_of_read_calls_link_their_page_and_say_where(tmp_path):
    app = make_app(stored(tmp_path))
    status, html = get(app, "/search?q=" + quote("의료기기"))
    assert status == "200 OK"
    assert 'href="/call?source=tp&amp;id=1&amp;q=%EC%9D%98%EB%A3%8C%EA%B8%B0%EA%B8%B0"' in html
    assert "(첨부: (공고문) 모집.hwp)" in html
    exported = json.loads(get(app, "/search?format=json&q=" + quote("의료기기"))[1])
    assert exported[0]["found"] == ["첨부: (공고문) 모집.hwp"] and len(exported[0]["attachments"]) == 3


def test_status_page_names_the_failing_file(tmp_path):
    from watcher.models import Config

    app = make_app(stored(tmp_path), config=Config(sources=(SOURCE,), rules=RULES))
    assert "첨부 읽기 실패: 안내.pdf: fetch: HTTP 404 Not Found" in get(app, "/status")[1]
