"""watcher/httpclient.py against a real local server: keep-alive, redirects, gzip, cookies, proxies."""

from __future__ import annotations

import gzip
import socket
import zlib

import pytest

from watcher.errors import FetchError
from watcher.fetch.httpclient import Session, _bypass, unquote_unreserved
from watcher.fetch.poll import fetch, make_session
from watcher.models import Source


def idle(session: Session) -> int:
    return sum(len(conns) for conns in session._idle.values())


def test_one_connection_serves_successive_polls_of_a_host(feeds):
    feeds.set("/a", "<rss>a</rss>")
    feeds.set("/b", "<rss>b</rss>")
    session = make_session()
    assert fetch(session, feeds.source("/a")).body == b"<rss>a</rss>"
    conn = next(iter(session._idle.values()))[0][0]
    assert fetch(session, feeds.source("/b")).body == b"<rss>b</rss>"
    assert idle(session) == 1 and next(iter(session._idle.values()))[0][0] is conn


def test_a_304_leaves_its_connection_reusable(feeds):
    feeds.set("/f", "<rss/>")
    session = make_session()
    first = fetch(session, feeds.source("/f"))
    from watcher.fetch.poll import FetchState

    assert fetch(session, feeds.source("/f"), FetchState(first.etag, first.last_modified)).status == "not_modified"
    assert idle(session) == 1


def test_a_connection_the_server_dropped_is_replaced_without_failing_the_poll(feeds):
    feeds.set("/f", "<rss/>")
    session = make_session()
    fetch(session, feeds.source("/f"))
    conn = next(iter(session._idle.values()))[0][0]
    conn.sock.shutdown(socket.SHUT_WR)  # as if it had died while idle
    assert fetch(session, feeds.source("/f")).body == b"<rss/>"


def test_a_refused_body_does_not_leave_its_rest_for_the_next_request(feeds):
    feeds.set("/big", b"x" * 5000)
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
])
def test_compressed_bodies_are_decoded(feeds, encoding, pack):
    body = ("<rss>" + "디지털헬스케어 공고 " * 2000 + "</rss>").encode()
    feeds.set("/z", pack(body), headers={"Content-Encoding": encoding})
    assert fetch(make_session(), feeds.source("/z")).body == body


def test_a_body_that_does_not_decode_is_a_fetch_error(feeds):
    feeds.set("/z", b"not gzip at all", headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="body cut off: gzip body does not decode"):
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
    assert unquote_unreserved("a%7Eb%2Fc") == "a~b%2Fc"


def test_proxies_come_from_the_environment_and_no_proxy_bypasses_them():
    session = Session(env={"HTTPS_PROXY": "http://u:p%40ss@proxy:3128", "no_proxy": ".go.kr,10.0.0.0/8,localhost"})
    proxy, auth = session._proxy_for("https", "www.example.org", 443)
    assert proxy == "http://u:p%40ss@proxy:3128" and auth == "Basic dTpwQHNz"
    assert session._proxy_for("http", "www.example.org", 80) is None  # no http_proxy
    assert session._proxy_for("https", "www.ntis.go.kr", 443) is None
    assert session._proxy_for("https", "10.1.2.3", 443) is None
    assert _bypass(["*"], "anything", 80) and _bypass(["host:8080"], "host", 8080)
    assert not _bypass(["host:8080"], "host", 80)
