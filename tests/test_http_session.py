"""The requests Session of watcher/fetch/session.py (replacing the home-made http.client client):
keep-alive, redirects, gzip / deflate, cookies, percent-encoding, proxies from the environment."""

from __future__ import annotations

import gzip
import socket
import zlib

import pytest
import requests

from watcher.errors import FetchError
from watcher.fetch.poll import FetchState, fetch, make_session
from watcher.fetch.session import idle_connections
from watcher.models import Source


def test_one_connection_serves_successive_polls_of_a_host(feeds):
    feeds.set("/a", "<rss>a</rss>")
    feeds.set("/b", "<rss>b</rss>")
    session = make_session()
    assert fetch(session, feeds.source("/a")).body == b"<rss>a</rss>"
    [conn] = idle_connections(session)
    assert fetch(session, feeds.source("/b")).body == b"<rss>b</rss>"
    assert idle_connections(session) == [conn]


def test_a_304_leaves_its_connection_reusable(feeds):
    feeds.set("/f", "<rss/>")
    session = make_session()
    first = fetch(session, feeds.source("/f"))
    assert fetch(session, feeds.source("/f"), FetchState(first.etag, first.last_modified)).status == "not_modified"
    assert len(idle_connections(session)) == 1


def test_an_error_answer_with_a_short_body_leaves_its_connection_reusable(feeds):
    feeds.set("/e", "boom", status=500)
    feeds.set("/f", "<rss/>")
    session = make_session()
    with pytest.raises(FetchError, match="HTTP 500"):
        fetch(session, feeds.source("/e"))
    [conn] = idle_connections(session)
    assert fetch(session, feeds.source("/f")).body == b"<rss/>"
    assert idle_connections(session) == [conn]


def test_a_connection_the_server_dropped_is_replaced_without_failing_the_poll(feeds):
    feeds.set("/f", "<rss/>")
    session = make_session()
    fetch(session, feeds.source("/f"))
    [conn] = idle_connections(session)
    conn.sock.shutdown(socket.SHUT_WR)  # as if it had died while idle
    assert fetch(session, feeds.source("/f")).body == b"<rss/>"


def test_a_refused_body_does_not_leave_its_rest_for_the_next_request(feeds):
    feeds.set("/big", b"x" * 500_000)
    feeds.set("/f", "<rss/>")
    session = make_session()
    with pytest.raises(FetchError, match="exceeds max_bytes"):
        fetch(session, feeds.source("/big", max_bytes=1000))
    assert fetch(session, feeds.source("/f")).body == b"<rss/>"


def test_redirects_are_followed_and_the_final_url_is_the_base(feeds):
    feeds.set("/old", "", status=301, headers={"Location": "/mid"})
    feeds.set("/mid", "", status=302, headers={"Location": feeds.url("/new.xml")})
    feeds.set("/new.xml", "<rss/>")
    result = fetch(make_session(), feeds.source("/old"))
    assert result.body == b"<rss/>" and result.url == feeds.url("/new.xml")


def test_a_redirect_loop_is_one_line(feeds):
    feeds.set("/loop", "", status=302, headers={"Location": "/loop"})
    with pytest.raises(FetchError, match="^fetch: more than 30 redirects$"):
        fetch(make_session(), feeds.source("/loop"))


@pytest.mark.parametrize("encoding,pack", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send it
    ("gzip", lambda b: gzip.compress(b[:5000]) + gzip.compress(b[5000:])),  # two gzip members
    ("gzip", lambda b: gzip.compress(b) + b"\0" * 10),  # padding after the end
])
def test_compressed_bodies_are_decoded(feeds, encoding, pack):
    body = ("<rss>" + "디지털헬스케어 공고 " * 2000 + "</rss>").encode()
    feeds.set("/z", pack(body), headers={"Content-Encoding": encoding})
    assert fetch(make_session(), feeds.source("/z")).body == body


def test_brotli_bodies_are_decoded_when_brotli_is_installed(feeds):
    brotli = pytest.importorskip("brotli")
    body = ("<rss>" + "디지털헬스케어 공고 " * 2000 + "</rss>").encode()
    feeds.set("/br", brotli.compress(body), headers={"Content-Encoding": "br"})
    assert fetch(make_session(), feeds.source("/br")).body == body
    assert "br" in feeds.hits_for("/br")[0].headers["Accept-Encoding"]


def test_a_body_that_does_not_decode_is_a_fetch_error(feeds):
    feeds.set("/z", b"not gzip at all", headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="^fetch: body cut off: gzip body does not decode"):
        fetch(make_session(), feeds.source("/z"))


def test_cookies_a_server_sets_are_sent_back(feeds):
    feeds.set("/login", "", status=302, headers={"Location": "/f", "Set-Cookie": "JSESSIONID=abc; Path=/"})
    feeds.set("/f", "<rss/>")
    session = make_session()
    assert fetch(session, feeds.source("/login")).body == b"<rss/>"
    assert feeds.hits_for("/f")[-1].headers.get("Cookie") == "JSESSIONID=abc"


def test_non_ascii_paths_and_queries_are_percent_encoded_and_escapes_kept(feeds):
    feeds.set("/%EA%B3%B5%EA%B3%A0?q=%EA%B3%B5&key=a%2Bb", "<rss/>")
    fetch(make_session(), Source(id="t", url=feeds.url("/공고?q=공&key=a%2Bb")))
    assert feeds.hits[-1].path == "/%EA%B3%B5%EA%B3%A0?q=%EA%B3%B5&key=a%2Bb"
    assert requests.utils.unquote_unreserved("a%7Eb%2Fc") == "a~b%2Fc"


def test_proxies_come_from_the_environment_and_no_proxy_bypasses_them(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://u:p%40ss@proxy:3128")
    monkeypatch.setenv("no_proxy", ".go.kr,10.0.0.0/8,localhost")
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    session = make_session()

    def proxy(url: str) -> str | None:
        return session.merge_environment_settings(url, {}, True, None, None)["proxies"].get(url.split(":")[0])

    assert proxy("https://www.example.org/") == "http://u:p%40ss@proxy:3128"
    auth = requests.adapters.HTTPAdapter().proxy_headers("http://u:p%40ss@proxy:3128")
    assert auth == {"Proxy-Authorization": "Basic dTpwQHNz"}
    assert proxy("http://www.example.org/") is None  # no http_proxy
    assert proxy("https://www.ntis.go.kr/") is None
    assert proxy("https://10.1.2.3/") is None
