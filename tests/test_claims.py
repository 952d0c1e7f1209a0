"""Claims on the outbox, in process against real SQLite files and local servers: claim, lease,
take-over, unanswered sends; and the small guards of issue #12 (dates out of range, huge or deep
HTML, terminal escaping, Slack answering HTML, idle connections of `serve`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from tests.slack_server import SlackServer
from watcher.cli import cli
from watcher.deliver.loop import deliver
from watcher.deliver.senders import make_sender
from watcher.errors import DeliveryError
from watcher.models import Announcement, Hit, Source
from watcher.parse.dates import parse_date
from watcher.parse.text import html_to_text
from watcher.store import KST, Store
from watcher.termsafe import term
from watcher.web import make_web_server

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=KST)
SOURCE = Source(id="ntis", url="https://www.ntis.go.kr/rss", name="NTIS")


def queued(tmp_path: Path, n: int = 2) -> Store:
    store = Store(tmp_path / "w.db")
    items = [(Announcement("ntis", str(i), f"의료기기 공모 {i}", f"https://x.go.kr/{i}",
                           published=NOW.isoformat()), [Hit("devices", "#d", ("의료기기",))]) for i in range(n)]
    store.ingest(SOURCE, items, NOW, 14 * 86400)
    return store


def ids(store: Store) -> list[int]:
    return [a["id"] for a in store.pending_alerts(NOW)]


def statuses(store: Store) -> list[str]:
    return [r[0] for r in store.conn.execute("select status from alerts order by id")]


def test_a_claimed_message_cannot_be_claimed_by_another_process(tmp_path):
    store = queued(tmp_path)
    other = Store(tmp_path / "w.db")  # a second connection, as a second process has
    first = ids(store)
    assert store.claim(first, NOW)
    assert not other.claim(first, NOW)  # all or nothing: one claimed alert refuses the message
    assert not other.claim(first[1:] + first[:1], NOW)
    assert other.pending_alerts(NOW) == [] and statuses(store) == ["sending", "sending"]
    store.mark_sent(first[0], NOW, "1.0")
    assert not other.claim(first[:1], NOW + timedelta(hours=1))  # sent stays sent


def test_an_expired_claim_is_taken_over_and_sent_again_only_once(tmp_path):
    store = queued(tmp_path, 1)
    alert = ids(store)
    assert store.claim(alert, NOW, lease=60)
    assert store.take_over_expired(NOW + timedelta(seconds=59)) == []
    [gone] = store.take_over_expired(NOW + timedelta(seconds=60))
    assert gone.endswith(f":{os.getpid()}")  # host:pid of the claimant
    assert ids(store) == alert and statuses(store) == ["pending"]
    assert store.claim(alert, NOW + timedelta(minutes=2), lease=60)  # the next sender dies too
    store.take_over_expired(NOW + timedelta(minutes=4))
    assert statuses(store) == ["sent"]  # a third post would be a second repeat


def test_a_claim_of_a_dead_process_on_this_host_is_taken_over_before_its_lease_ends(tmp_path):
    store = queued(tmp_path, 1)
    alert = ids(store)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid now names no process (a killed `once`)
    assert store.claim(alert, NOW, lease=3600)
    store.conn.execute("UPDATE alerts SET claimed_by = ?", (f"{socket.gethostname()}:{dead.pid}",))
    [gone] = store.take_over_expired(NOW + timedelta(seconds=1))
    assert gone.endswith(f":{dead.pid}") and statuses(store) == ["pending"]
    assert store.claim(alert, NOW, lease=3600)  # a live claimant (this process) keeps its claim
    assert store.take_over_expired(NOW + timedelta(seconds=1)) == [] and statuses(store) == ["sending"]


def test_an_unanswered_send_is_repeated_once_then_counted_as_sent(tmp_path):
    store = queued(tmp_path, 1)
    alert = ids(store)
    assert store.claim(alert, NOW)
    assert store.mark_in_doubt(alert, NOW, "slack: network: no answer", NOW + timedelta(seconds=30)) == 0
    assert store.pending_alerts(NOW + timedelta(seconds=29)) == [] and ids(store) == []
    assert [a["id"] for a in store.pending_alerts(NOW + timedelta(seconds=30))] == alert
    assert store.claim(alert, NOW + timedelta(seconds=30))
    assert store.mark_in_doubt(alert, NOW, "slack: network: no answer", NOW + timedelta(minutes=2)) == 1
    row = store.conn.execute("select status, doubts, last_error from alerts").fetchone()
    assert row[0] == "sent" and row[1] == 2 and "counted as sent" in row[2]


def test_deliver_skips_messages_another_process_holds(tmp_path, slack: SlackServer):
    store = queued(tmp_path, 2)
    other = Store(tmp_path / "w.db")
    assert other.claim(ids(store)[:1], NOW)
    sender = make_sender({"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url})
    report = deliver(store, sender, NOW, 5)
    assert report.sent == 1 and len(slack.messages) == 1 and "공모 1" in slack.messages[0]["text"]
    assert statuses(store) == ["sending", "sent"]


def test_slack_answering_an_html_page_is_named_not_http_200():
    class Page(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b"<html><head><title>Scheduled Maintenance</title></head><body>down</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for env in ({"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_API_URL": base + "/api/"}, {"SLACK_WEBHOOK_URL": base}):
            with pytest.raises(DeliveryError) as err:
                make_sender(env).send("#d", {"text": "안녕"})
            assert str(err.value) == "slack: not a Slack answer (http 200, text/html): Scheduled Maintenance"
            assert err.value.retryable
    finally:
        server.shutdown()


@pytest.mark.parametrize("text, shown", [
    ("공고 \x1b[31m빨강\x1b[0m", "공고 \\x1b[31m빨강\\x1b[0m"),
    ("벨\x07 널\x00 백\x08 CR\r DEL\x7f C1\x9b", "벨\\x07 널\\x00 백\\x08 CR\\x0d DEL\\x7f C1\\x9b"),
    ("파일 \u202egnp.exe \u2066격리\u2069", "파일 \\u202egnp.exe \\u2066격리\\u2069"),
    ("탭\t과 줄바꿈\n은 그대로 ㅇ ① …", "탭\t과 줄바꿈\n은 그대로 ㅇ ① …"),
    (None, ""),
])
def test_terminal_text_escapes_control_and_bidi_characters(text, shown):
    assert term(text) == shown


def test_html_to_text_keeps_text_of_a_document_nested_past_libxml2s_limit():
    deep = "<p>앞</p><script>var x;</script>" + "<div>" * 300 + "의료기기 공모" + "</div>" * 300 + "<p>뒤</p>"
    assert html_to_text(deep) == "앞 의료기기 공모 뒤"


def test_html_to_text_of_a_huge_text_node_keeps_its_beginning_within_the_bound():
    huge = "<p>의료기기 " + "가" * 11_000_000 + "</p>"
    text = html_to_text(huge)
    assert text.startswith("의료기기 가가") and 1_000_000 < len(text) <= 2_000_000


@pytest.mark.parametrize("raw", ["Mon, 01 Jan 0001 00:00:00 +0000", "0001-01-01", "0001.01.01", "00010101"])
def test_year_0001_is_no_date_and_never_2001(raw):
    assert parse_date(raw) is None


def test_two_digit_rfc822_years_are_still_read():
    assert parse_date("Fri, 21 Aug 26 09:00:00 +0900") == datetime(2026, 8, 21, 9, tzinfo=KST)


def test_search_until_9999_is_one_line_and_exit_2(tmp_path):
    queued(tmp_path).close()
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "w.db"), "search", "공모", "--until", "9999-12-31"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ["error: date 9999-12-31 is out of range (1900-01-01 to 2999-12-31)"]


@pytest.fixture()
def web(tmp_path):
    queued(tmp_path).close()
    server = make_web_server(tmp_path / "w.db", "127.0.0.1", 0, idle_timeout=0.5)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_web_date_out_of_range_is_a_400_page(web):
    base = f"http://127.0.0.1:{web.server_address[1]}"
    page = requests.get(base + "/search", params={"q": "공모", "until": "9999-12-31"}, timeout=5)
    assert page.status_code == 400 and "9999-12-31" in page.text and "Traceback" not in page.text


def test_serve_closes_idle_connections_after_the_timeout(web):
    with socket.create_connection(web.server_address[:2], timeout=5) as idle:
        started = time.monotonic()
        assert idle.recv(1) == b""  # closed by the server, not by our 5 s timeout
        assert time.monotonic() - started < 3
    assert web.request_queue_size >= 128


def test_a_message_queued_again_while_its_claim_is_in_flight_stays_pending(tmp_path):
    store = queued(tmp_path, 1)
    alert = ids(store)
    assert store.claim(alert, NOW)
    store.conn.execute("UPDATE alerts SET status = 'pending' WHERE id = ?", alert)  # re-armed (a newer update)
    store.conn.commit()
    store.mark_sent(alert[0], NOW, "1.0")  # the answer for the older text
    assert statuses(store) == ["pending"] and ids(store) == alert
