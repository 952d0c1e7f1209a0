"""A link shown anywhere — alerts, the desk, exports, `--json` — is the canonical one: no `utm_*`, no `jsessionid`.

One feed item links with a session id and tracking parameters; after `watcher once` every place that
shows the link shows `https://board.example.kr/view.do?id=7&menu=2`.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from email.utils import format_datetime
from wsgiref.simple_server import WSGIServer

import pytest
import requests

from tests.e2e import Watcher
from tests.feed_server import FeedServer
from watcher.clock import now_kst
from watcher.parse.links import shown_link
from watcher.web import serve

RAW = "https://Board.Example.kr:443/view.do;jsessionid=A1B2C3?utm_source=rss&id=7&JSESSIONID=X&menu=2&utm_medium=feed#top"
CLEAN = "https://board.example.kr/view.do?id=7&menu=2"


def test_shown_link_is_the_canonical_form():
    assert shown_link(RAW) == CLEAN
    assert shown_link(None) is None and shown_link("") == ""
    assert shown_link("https://a.kr/x?b=1&a=2") == "https://a.kr/x?b=1&a=2"  # order and the rest kept


@pytest.fixture(scope="module")
def polled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shown")
    now = now_kst()
    deadline = (now + timedelta(days=10)).strftime("%Y.%m.%d")
    feed = (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
            f"<item><title>디지털헬스케어 실증 지원사업 공고</title><link>{RAW.replace('&', '&amp;')}</link>"
            f"<description>접수기간 : ~ {deadline}</description><pubDate>{format_datetime(now)}</pubDate></item>"
            "</channel></rss>")
    with FeedServer() as server:
        server.set("/rss", feed)
        w = Watcher(folder)
        w.write("sources.yaml", f"sources:\n  - id: board\n    url: {server.base}/rss\n")
        w.write("rules.yaml", "rules:\n  - name: health\n    any: [디지털헬스케어]\n")
        done = w("once")
        assert done.returncode == 0, done.stderr
        yield w, done.stdout


def test_the_alert_shows_the_clean_link(polled):
    _, printed = polled
    assert CLEAN in printed and "utm_" not in printed and "jsessionid" not in printed.lower()


@pytest.mark.parametrize("args", [["search", "디지털헬스케어", "--json"], ["rules", "test", "--json"]])
def test_json_shows_the_clean_link(polled, args):
    w, _ = polled
    done = w(*args)
    assert done.returncode == 0, done.stderr
    assert [row["link"] for row in json.loads(done.stdout)] == [CLEAN]


@pytest.mark.parametrize("args", [["search", "디지털헬스케어"], ["search", "디지털헬스케어", "--csv"],
                                  ["search", "디지털헬스케어", "--atom"], ["calendar"]])
def test_desk_exports_and_calendar_show_the_clean_link(polled, args):
    w, _ = polled
    done = w(*args)
    assert done.returncode == 0, done.stderr
    text = done.stdout.replace("\r\n ", "").replace("&amp;", "&")  # iCalendar folds long lines; Atom escapes
    assert CLEAN in text and "utm_" not in text and "jsessionid" not in text.lower()


def test_the_web_desk_shows_the_clean_link(polled):
    w, _ = polled
    ready = threading.Event()
    holder: list[WSGIServer] = []

    def on_ready(server: WSGIServer) -> None:
        holder.append(server)
        ready.set()

    thread = threading.Thread(target=serve, args=(str(w.folder / "db" / "watcher.db"), "127.0.0.1", 0),
                              kwargs={"on_ready": on_ready}, daemon=True)
    thread.start()
    assert ready.wait(10)
    base = f"http://127.0.0.1:{holder[0].server_address[1]}"
    try:
        for fmt in ("", "json", "csv", "atom"):
            page = requests.get(f"{base}/search", params={"q": "디지털헬스케어", "format": fmt}, timeout=10).text
            assert CLEAN.replace("&", "&amp;") in page or CLEAN in page, fmt
            assert "utm_" not in page and "jsessionid" not in page.lower(), fmt
    finally:
        holder[0].shutdown()
        thread.join(10)
