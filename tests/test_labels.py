"""Korean labels where the team reads: shipped rules labelled, Slack and the desk show `label`, Korean CSV
headers (English on request), one language in the CLI, /status with failing sources first and remedies."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from watcher.cli import cli
from watcher.config.load import load_config, load_rules
from watcher.match.explain import rule_entry
from watcher.match.matcher import Matcher
from watcher.models import Announcement
from watcher.notify.messages import build_message
from watcher.store import Store
from watcher.web import make_app
from watcher.web.exports import to_csv

ROOT = Path(__file__).resolve().parent.parent
KST = ZoneInfo("Asia/Seoul")
NOW = datetime.now(KST).replace(microsecond=0)
HANGUL = re.compile("[가-힣]")
RULES = """\
rules:
  - name: manufacturing-dx
    label: 제조 DX
    any: [스마트공장]
  - name: brand-new
    label: 새 규칙
    any: [아직없는말]
"""
SOURCES = ("sources:\n  - id: tp\n    name: 테크노파크\n    url: http://127.0.0.1:9/a\n"
           "  - id: dead\n    name: 없어진 게시판\n    url: http://127.0.0.1:9/b\n")


def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "s.yaml").write_text(SOURCES, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RULES, encoding="utf-8")
    return tmp_path / "s.yaml", tmp_path / "r.yaml"


def test_every_shipped_rule_has_a_korean_label() -> None:
    rules = load_rules(ROOT / "rules.yaml").rules
    assert rules and all(r.label and HANGUL.search(r.label) for r in rules), [(r.name, r.label) for r in rules]


def test_slack_shows_the_label_not_the_rule_name(tmp_path: Path) -> None:
    _, r = files(tmp_path)
    ann = Announcement("tp", "1", "2027 스마트공장 구축 지원", "https://x.kr/1", published=NOW.isoformat())
    hits = Matcher(load_rules(r)).match(ann)
    alert = {"title": ann.title, "link": ann.link, "published": ann.published, "source": "tp",
             "source_name": "테크노파크", "rules": [rule_entry(h) for h in hits]}
    text = str(build_message(alert, NOW))
    assert "규칙: *제조 DX*" in text and "manufacturing-dx" not in text


def test_csv_is_korean_by_default_and_english_on_request() -> None:
    rows = [{"title": "공고", "deadline": (NOW.date() - timedelta(days=3)).isoformat(), "rules": ["manufacturing-dx"],
             "source": "tp", "link": "https://x.kr/1"}]
    korean = list(csv.reader(io.StringIO(to_csv(rows, NOW.date(), {"manufacturing-dx": "제조 DX"}).lstrip("\ufeff"))))
    assert korean[0] == ["게시일", "마감일", "D-day", "제목", "기관", "출처", "규칙", "링크"]
    assert korean[1][2] == "마감" and korean[1][6] == "제조 DX"
    english = list(csv.reader(io.StringIO(to_csv(rows, NOW.date(), lang="en").lstrip("\ufeff"))))
    assert english[0][:2] == ["published", "deadline"] and english[1][2] == "closed"


def stored(tmp_path: Path) -> Path:
    s, r = files(tmp_path)
    db = tmp_path / "w.db"
    store = Store(db)
    cfg = load_config(s, r)
    tp, dead = cfg.source("tp"), cfg.source("dead")
    ann = Announcement("tp", "1", "2027 스마트공장 구축 지원", "https://x.kr/1", published=NOW.isoformat(),
                       deadline=(NOW.date() - timedelta(days=1)).isoformat())
    store.ingest(tp, [(ann, Matcher(cfg.rules).match(ann))], NOW, 14 * 86400)
    store.record_success(tp, NOW, None, None, None)
    store.record_failure(dead, NOW, "fetch: http 404", None)
    store.record_failure(dead, NOW, "fetch: http 404", None)
    store.close()
    return db


def test_cli_search_speaks_english_only(tmp_path: Path) -> None:
    s, r = files(tmp_path)
    db = stored(tmp_path)
    out = CliRunner().invoke(cli, ["--sources", str(s), "--rules", str(r), "--db", str(db), "search", "스마트공장"])
    assert out.exit_code == 0, out.output
    assert "closed" in out.output and "마감" not in out.output


def get(app, path: str, query: str = "") -> str:
    return b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query},
                        lambda status, headers: None)).decode()


def test_status_lists_failing_sources_first_with_a_korean_remedy(tmp_path: Path) -> None:
    s, r = files(tmp_path)
    page = get(make_app(stored(tmp_path), config=load_config(s, r)), "/status")
    assert page.index('id="source-dead"') < page.index('id="source-tp"')  # configured order is tp, dead
    dead = re.search(r'<tr id="source-dead">(.*?)</tr>', page).group(1)
    assert "한 번도 수집에 성공하지 못했습니다" in dead and "sources.yaml의 url을 고치세요" in dead


def test_a_new_rule_is_in_the_desk_rule_list_before_it_matches(tmp_path: Path) -> None:
    s, r = files(tmp_path)
    page = get(make_app(stored(tmp_path), config=load_config(s, r)), "/search", "q=")
    assert '<option value="brand-new">새 규칙</option>' in page
    assert '<option value="manufacturing-dx">제조 DX</option>' in page
