"""`watcher serve`: real HTTP on 127.0.0.1 against a real store."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from wsgiref.simple_server import WSGIServer

import pytest
import requests

from watcher.models import Announcement, Hit, Source
from watcher.store import KST, Store
from watcher.web import http_link, render_page, serve

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=KST)
TODAY = datetime.now(KST).date()  # the server's clock is the real one
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)> 강소특구 "공모"'


def fill(path: Path) -> None:
    store = Store(path)
    ntis = Source(id="ntis", url="https://ntis", name="NTIS <국가R&D>")
    biz = Source(id="bizinfo", url="https://biz", name="기업마당")
    store.ingest(ntis, [
        (Announcement("ntis", "evil", EVIL, "javascript:alert(1)", published="2026-11-19T09:00:00+09:00",
                      agency="<b>기관</b>"), [Hit("zones<x>", "#g", ("특구",))]),
        (Announcement("ntis", "zone", "연구개발특구 육성 공고", "https://example.go.kr/view?a=1&b=2",
                      published="2026-11-18T09:00:00+09:00", deadline=str(TODAY + timedelta(days=7))),
         [Hit("zones", "#g", ("특구",))]),
        (Announcement("ntis", "past", "규제자유특구 지정", "https://example.go.kr/past",
                      published="2026-10-01T09:00:00+09:00", deadline=str(TODAY - timedelta(days=1))), []),
    ], NOW, 0)
    store.ingest(biz, [
        (Announcement("bizinfo", "dev", "의료기기 실증 지원 특구", "https://example.go.kr/dev",
                      published="2026-11-17T09:00:00+09:00", deadline=str(TODAY)), []),
    ], NOW, 0)
    store.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("web") / "w.db"
    fill(path)
    ready = threading.Event()
    holder: list[WSGIServer] = []

    def on_ready(server: WSGIServer) -> None:
        holder.append(server)
        ready.set()

    thread = threading.Thread(target=serve, args=(str(path), "127.0.0.1", 0), kwargs={"on_ready": on_ready},
                              daemon=True)
    thread.start()
    assert ready.wait(10)
    server = holder[0]
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(10)


def get(base: str, path: str, **params: str) -> requests.Response:
    return requests.get(base + path, params=params, timeout=10, allow_redirects=False)


def titles(page: str) -> int:
    return page.count('<td class="title">')


def test_root_redirects_to_the_closing_soon_search(base: str) -> None:
    response = get(base, "/")
    assert response.status_code == 302 and response.headers["Location"] == "/search?open=1&matched=1&sort=deadline"
    assert get(base, "/", q="특구").headers["Location"] == "/search?q=%ED%8A%B9%EA%B5%AC"


def test_search_page_is_korean_html(base: str) -> None:
    response = get(base, "/search", q="특구")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    page = response.text
    assert page.startswith("<!doctype html>") and '<html lang="ko">' in page
    for name in ('name="q"', 'name="source"', 'name="rule"', 'name="since"', 'name="open"'):
        assert name in page
    assert "<script" not in page and titles(page) == 4
    assert '<option value="bizinfo">기업마당</option>' in page


def test_hostile_text_is_escaped_and_bad_links_are_not_links(base: str) -> None:
    page = get(base, "/search", q="강소특구").text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img" not in page and "javascript:" not in page
    assert "&lt;b&gt;기관&lt;/b&gt;" in page
    assert "NTIS &lt;국가R&amp;D&gt;" in page and "zones&lt;x&gt;" in page
    page = get(base, "/search", q="연구개발특구").text
    assert 'href="https://example.go.kr/view?a=1&amp;b=2"' in page


def raw_get(base: str, target: bytes) -> str:
    """GET with the request target sent byte for byte (requests would percent-encode it)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"GET " + target + b" HTTP/1.0\r\nHost: " + host.encode() + b"\r\n\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200"), head
    return body.decode("utf-8")


def test_raw_utf8_query_is_read_as_utf8(base: str) -> None:
    """`curl 'http://127.0.0.1:8765/search?q=특구'` sends UTF-8 bytes unencoded: no mojibake."""
    page = raw_get(base, "/search?q=특구&source=ntis".encode())
    assert 'value="특구"' in page and "í" not in page
    assert titles(page) == titles(get(base, "/search", q="특구", source="ntis").text) == 3
    page = raw_get(base, b"/search?q=%ED%8A%B9%EA%B5%AC")  # percent-encoded as before
    assert 'value="특구"' in page and titles(page) == 4
    assert 'value="\ufffd"' in raw_get(base, b"/search?q=\xff")  # not UTF-8: replaced, still a page


def test_query_is_echoed_escaped(base: str) -> None:
    page = get(base, "/search", q='"><script>x</script>').text
    assert 'value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in page and "<script>" not in page


def test_filters(base: str) -> None:
    assert titles(get(base, "/search", q="특구", source="bizinfo").text) == 1
    page = get(base, "/search", q="특구", source="ntis").text
    assert titles(page) == 3 and '<option value="ntis" selected>' in page
    assert titles(get(base, "/search", q="특구", rule="zones").text) == 1
    assert titles(get(base, "/search", q="특구", since="2026-11-18").text) == 2
    assert titles(get(base, "/search", q="특구", until="2026-10-31").text) == 1
    page = get(base, "/search", q="특구", open="1").text  # the undated one counts as open (상시)
    assert titles(page) == 3 and '<span class="dday">마감' not in page and "checked" in page
    assert titles(get(base, "/search", q="특구", open="1", undated="0").text) == 2


def test_deadlines_show_d_day(base: str) -> None:
    page = get(base, "/search", q="특구").text
    assert '<span class="dday soon">D-7</span>' in page and '<span class="dday soon">D-day</span>' in page
    assert '<span class="dday">마감</span>' in page


def test_bad_input_is_a_message_not_a_crash(base: str) -> None:
    response = get(base, "/search", q="특구", since="yesterday")
    assert response.status_code == 400 and "since" in response.text
    for q in ['"', "AND", "NEAR(", "*", "'; DROP", "%ff", "x" * 3000]:
        assert get(base, "/search", q=q).status_code == 200
    assert requests.get(base + "/search?q=%ff%fe&open=%00", timeout=10).status_code == 200


def test_other_paths(base: str) -> None:
    assert get(base, "/healthz").text == "ok\n"
    assert get(base, "/nope").status_code == 404
    assert requests.post(base + "/search", timeout=10).status_code == 405
    assert requests.head(base + "/search", timeout=10).status_code == 200


def test_missing_database(tmp_path: Path) -> None:
    from watcher.web import make_app

    app = make_app(tmp_path / "none.db")
    seen: list[str] = []
    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/search", "QUERY_STRING": "q=x"},
                        lambda status, headers: seen.append(status)))
    assert seen == ["200 OK"] and "아직 저장된 공고가 없습니다" in body.decode()
    assert not (tmp_path / "none.db").exists()


def test_http_link() -> None:
    assert http_link("https://a.kr/x") == "https://a.kr/x"
    for bad in ("javascript:alert(1)", "data:text/html,x", "//evil", "/relative", None, "", "http://[::1"):
        assert http_link(bad) is None


def test_render_page_without_results() -> None:
    page = render_page({"q": "", "source": "", "rule": ""}, [("a", "A")], ["r"], None, date(2026, 11, 20))
    assert "<table" not in page and '<option value="r">r</option>' in page
