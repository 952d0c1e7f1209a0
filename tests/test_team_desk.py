"""The team's pipeline on the desk and the command line (#26): `watcher search --state S --assignee
NAME`, exports carrying state and assignee, the web page's filters and `놓친 공고` (POST /missed),
the Socket Mode connection in `watcher status` and `/metrics`."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
import requests
from click.testing import CliRunner

from tests.slack_server import SlackServer
from tests.team_helpers import NOW, ann, ingest, send_all, store_at
from watcher.cli import cli
from watcher.store import Store
from watcher.web import make_web_server

CALL = "https://www.ntis.go.kr/view?id={}"


@pytest.fixture()
def team_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three alerted calls (1 planned by kim, 2 dismissed, 3 untouched) and 4, stored but never alerted."""
    store, db = store_at(tmp_path)
    ingest(store, ann(1, "의료기기 인허가 지원 공고"), ann(2, "의료기기 전문인력 채용 공고"),
           ann(3, "의료기기 수출 지원 공고"), ann(4, "체외진단 임상 지원 공고"))
    with SlackServer() as slack:
        slack.min_interval = 0
        send_all(store, slack)
    store.record_action(CALL.format(1), "assign", None, "U0KIM", "kim", NOW)
    store.record_action(CALL.format(1), "state", "planned", "U0LEE", "lee", NOW)
    store.record_action(CALL.format(2), "state", "dismissed", "U0LEE", "lee", NOW, rules=[{"rule": "devices"}])
    store.close()
    monkeypatch.setenv("WATCHER_DB", str(db))
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    (tmp_path / "rules.yaml").write_text('rules:\n  - name: devices\n    any: [의료기기]\n    channel: "#devices"\n',
                                         encoding="utf-8")
    (tmp_path / "sources.yaml").write_text("sources:\n  - id: ntis\n    url: https://www.ntis.go.kr/rss\n",
                                           encoding="utf-8")
    monkeypatch.setenv("WATCHER_RULES", str(tmp_path / "rules.yaml"))
    monkeypatch.setenv("WATCHER_SOURCES", str(tmp_path / "sources.yaml"))
    return db


def search(*args: str) -> list[dict]:
    result = CliRunner().invoke(cli, ["search", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_search_filters_by_state_and_assignee_and_json_carries_them(team_db):
    rows = {r["title"]: (r["state"], r["assignee"]) for r in search("공고")}
    assert rows == {"의료기기 인허가 지원 공고": ("지원 예정", "kim"),
                    "의료기기 전문인력 채용 공고": ("관심 없음", None),
                    "의료기기 수출 지원 공고": (None, None), "체외진단 임상 지원 공고": (None, None)}
    assert [r["title"] for r in search("--state", "지원예정")] == ["의료기기 인허가 지원 공고"]
    assert [r["title"] for r in search("--state", "planned", "--assignee", "@KIM")] == ["의료기기 인허가 지원 공고"]
    assert [r["title"] for r in search("--assignee", "U0KIM")] == ["의료기기 인허가 지원 공고"]
    assert search("--assignee", "lee") == []  # lee decided, kim took it
    assert {r["title"] for r in search("의료기기", "--state", "none")} == {"의료기기 수출 지원 공고"}
    table = CliRunner().invoke(cli, ["search", "인허가"]).output
    assert "(지원 예정 · @kim)" in table
    bad = CliRunner().invoke(cli, ["search", "--state", "보류"])
    assert bad.exit_code == 2 and "unknown state '보류'" in bad.output and "지원 예정" in bad.output


def test_csv_carries_state_and_assignee(team_db):
    result = CliRunner().invoke(cli, ["search", "인허가", "--csv"])
    rows = list(csv.reader(io.StringIO(result.output.lstrip("\ufeff"))))
    assert rows[0][-2:] == ["상태", "담당"] and rows[1][-2:] == ["지원 예정", "kim"]
    result = CliRunner().invoke(cli, ["search", "인허가", "--csv", "--csv-lang", "en"])
    assert result.output.lstrip("\ufeff").splitlines()[0].endswith(",state,assignee")


def test_without_team_actions_search_output_is_as_before(tmp_path, monkeypatch):
    store, db = store_at(tmp_path)
    ingest(store, ann(1, "의료기기 인허가 지원 공고"))
    store.close()
    monkeypatch.setenv("WATCHER_DB", str(db))
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    [row] = search("인허가")
    assert "state" not in row and "assignee" not in row
    header = CliRunner().invoke(cli, ["search", "인허가", "--csv"]).output.lstrip("\ufeff").splitlines()[0]
    assert header == "게시일,마감일,D-day,제목,기관,출처,규칙,링크"
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A0TEAM-1-x")  # team actions configured: the keys are there
    [row] = search("인허가")
    assert row["state"] is None and row["assignee"] is None


@pytest.fixture()
def desk(team_db: Path) -> Iterator[str]:
    from watcher.config.load import load_config

    folder = team_db.parent.parent
    config = load_config(folder / "sources.yaml", folder / "rules.yaml")
    server = make_web_server(team_db, "127.0.0.1", 0, config=config, clock=lambda: NOW)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(10)


def test_the_desk_shows_filters_and_exports_the_team_pipeline(desk):
    page = requests.get(desk + "/search", params={"q": "공고"}, timeout=10).text
    assert '<select name="state" id="state"' in page and '<option value="kim">@kim</option>' in page
    assert '<span class="team-state">지원 예정</span> · <span class="team-who">담당 @kim</span>' in page
    assert page.count('<form class="missed"') == 1  # only the call no alert announced
    planned = requests.get(desk + "/search", params={"q": "공고", "state": "planned"}, timeout=10).text
    assert '<p class="count" id="count">총 1건 · 1–1</p>' in planned
    mine = requests.get(desk + "/search", params={"assignee": "kim", "format": "json"}, timeout=10).json()
    assert [(r["title"], r["state"], r["assignee"]) for r in mine] == [
        ("의료기기 인허가 지원 공고", "지원 예정", "kim")]
    exported = requests.get(desk + "/search", params={"q": "인허가", "format": "csv"}, timeout=10).text
    assert exported.lstrip("\ufeff").splitlines()[0].endswith(",상태,담당")


def test_missed_on_the_desk_marks_an_unalerted_call_once_and_only_from_the_desk(desk, team_db):
    form = {"source": "ntis", "id": "4", "rule": "devices", "who": "park", "back": "/search?q=체외진단"}
    answer = requests.post(desk + "/missed", data=form, timeout=10, allow_redirects=False,
                           headers={"Origin": desk})
    assert answer.status_code == 303 and unquote(answer.headers["Location"]) == "/search?q=체외진단"
    other = requests.post(desk + "/missed", data=form, timeout=10, allow_redirects=False,
                          headers={"Origin": "https://evil.example"})
    assert other.status_code == 403
    alerted = requests.post(desk + "/missed", data={**form, "id": "1"}, timeout=10, allow_redirects=False)
    assert alerted.status_code == 409
    assert requests.post(desk + "/missed", data={**form, "rule": "nosuch"}, timeout=10).status_code == 400
    assert requests.post(desk + "/missed", data={**form, "id": "99"}, timeout=10).status_code == 404
    store = Store(team_db)
    [missed] = store.team_judgments()["missed"]
    assert (missed["title"], missed["rule"], missed["user_name"], missed["channel"]) == (
        "체외진단 임상 지원 공고", "devices", "park", "desk")
    report = json.loads(CliRunner().invoke(cli, ["rules", "report", "--json"]).output)
    assert [m["title"] for m in report["missed"]] == ["체외진단 임상 지원 공고"]


def test_status_and_metrics_show_the_socket_connection(team_db):
    from watcher.clock import iso, now_kst
    from watcher.ops.metrics import render_metrics

    store = Store(team_db)
    store.set_socket_state({"state": "connected", "since": "2026-12-01T09:00:00+09:00", "reconnects": 2,
                            "checked_at": iso(now_kst())})
    output = CliRunner().invoke(cli, ["status"]).output
    assert "slack socket mode: connected since 2026-12-01 09:00:00, 2 reconnection(s)" in output
    text = render_metrics(team_db, now_kst()).decode()
    assert "watcher_slack_socket_connected 1.0" in text and "watcher_slack_socket_reconnects_total 2.0" in text
    store.set_socket_state({"state": "connected", "reconnects": 2, "checked_at": "2026-01-01T00:00:00+09:00"})
    assert "slack socket mode: unknown (last report 2026-01-01 00:00:00" in CliRunner().invoke(cli, ["status"]).output
    assert "watcher_slack_socket_connected 0.0" in render_metrics(team_db, now_kst()).decode()
