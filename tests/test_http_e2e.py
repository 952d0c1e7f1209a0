"""#25 points 2, 5, 6, 8 and the UTF-8 `Location`, through `watcher once` (real processes) against
raw-socket servers on 127.0.0.1 that answer as broken or hostile servers do (tests/raw_server.py)."""

from __future__ import annotations

import gzip
import socket
import sqlite3
import time
from datetime import datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.e2e import KST, Watcher
from tests.raw_server import RawServer, by_path, found, ok, self_signed, serve_each

RULES = 'defaults:\n  channel: "#g"\nrules:\n  - name: all\n    any: [공고]\n'


def rss(tag: str, n: int) -> bytes:
    when = format_datetime(datetime.now(KST) - timedelta(hours=2))
    items = "".join(f"<item><title>{tag} 공고 {i}</title><link>http://example.org/{tag}/{i}</link>"
                    f"<pubDate>{when}</pubDate></item>" for i in range(n))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{items}'
            "</channel></rss>").encode()


@pytest.fixture()
def raw():
    servers: list[RawServer] = []

    def start(handler, tls=None) -> RawServer:
        servers.append(RawServer(handler, tls=tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def watcher(tmp_path, urls: dict[str, str], headers: dict[str, dict[str, str]] | None = None, **env) -> Watcher:
    w = Watcher(tmp_path, env)
    lines = ["defaults:\n  timeout: 5s\nsources:\n"]
    for sid, url in urls.items():
        lines.append(f"  - id: {sid}\n    url: \"{url}\"\n")
        if headers and sid in headers:
            lines.append("    headers: {" + ", ".join(f"{k}: \"{v}\"" for k, v in headers[sid].items()) + "}\n")
    w.write("sources.yaml", "".join(lines))
    w.write("rules.yaml", RULES)
    return w


def once(w: Watcher) -> dict[str, str]:
    """`watcher once` (must exit 0) -> source id -> its summary line."""
    done = w("once", timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    lines = {}
    for line in done.stdout.splitlines():
        if line and not line.startswith(("alerts:", "──", "rules changed")) and line[0] not in " *":
            lines[line.split()[0]] = line
    return lines


def stored(w: Watcher, source: str) -> set[str]:
    conn = sqlite3.connect(w.folder / "db" / "watcher.db")
    return {row[0] for row in conn.execute("SELECT title FROM announcements WHERE source = ?", (source,))}


# ---- point 5: 1xx answers --------------------------------------------------------------------------

def test_six_sources_on_one_host_with_early_hints_each_store_their_own_items(tmp_path, raw):
    def handler(conn, server):
        buf = bytearray()
        while (head := server.next_request(conn, buf)) is not None:
            sid = head.split(b" ")[1].strip(b"/").decode()
            conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n")
            time.sleep(0.02)
            conn.sendall(b"HTTP/1.1 102 Processing\r\n\r\n")
            time.sleep(0.02)
            conn.sendall(ok(rss(sid, 2), "Content-Type: application/rss+xml"))

    server = raw(handler)
    w = watcher(tmp_path, {f"s{i}": server.url(f"/s{i}") for i in range(6)})
    for _ in range(2):
        lines = once(w)
        assert all(" ok " in lines[f"s{i}"] or "unchanged" in lines[f"s{i}"] for i in range(6)), lines
    for i in range(6):
        assert stored(w, f"s{i}") == {f"s{i} 공고 0", f"s{i} 공고 1"}


# ---- point 2: bodies cut short ---------------------------------------------------------------------

def cut_then_whole(body: bytes, first: bytes):
    """First request: `first` (a cut answer) and the connection closed; later ones: 304 for the
    ETag of the cut answer (the bug: it was kept), else the whole body with another ETag."""

    def handler(conn, server):
        buf = bytearray()
        while (head := server.next_request(conn, buf)) is not None:
            if len(server.requests) == 1:
                conn.sendall(first)
                conn.shutdown(socket.SHUT_RDWR)
                return
            if b'if-none-match: "cut"' in head.lower():
                conn.sendall(b'HTTP/1.1 304 Not Modified\r\nETag: "cut"\r\n\r\n')
            else:
                conn.sendall(ok(body, 'ETag: "whole"', "Content-Type: application/rss+xml"))

    return handler


def test_a_body_cut_before_its_content_length_stores_nothing_and_the_next_poll_reads_it_all(tmp_path, raw):
    body = rss("cut", 10)
    first = (f'HTTP/1.1 200 OK\r\nETag: "cut"\r\nContent-Type: application/rss+xml\r\n'
             f"Content-Length: {len(body)}\r\n\r\n").encode() + body[: len(body) // 2]
    server = raw(cut_then_whole(body, first))
    w = watcher(tmp_path, {"board": server.url("/f.xml")})
    line = once(w)["board"]
    assert "error" in line and "body cut off" in line, line
    assert stored(w, "board") == set()
    assert " ok " in once(w)["board"]
    assert len(stored(w, "board")) == 10


@pytest.mark.parametrize("with_length", [True, False])
def test_a_truncated_gzip_body_is_an_error_and_the_next_poll_reads_it_all(tmp_path, raw, with_length):
    body = rss("gz", 10)
    packed = gzip.compress(body)[:-40]
    length = f"Content-Length: {len(packed)}\r\n" if with_length else "Connection: close\r\n"
    first = (f'HTTP/1.1 200 OK\r\nETag: "cut"\r\nContent-Encoding: gzip\r\nContent-Type: application/rss+xml\r\n'
             f"{length}\r\n").encode() + packed
    server = raw(cut_then_whole(body, first))
    w = watcher(tmp_path, {"board": server.url("/f.xml")})
    line = once(w)["board"]
    assert "error" in line and "body cut off" in line, line
    assert " ok " in once(w)["board"]
    assert len(stored(w, "board")) == 10


# ---- point 6: a bad redirect costs its source only ---------------------------------------------------

@pytest.mark.parametrize("location", [b"http://127.0.0.1:99999/x", "http://테스트\u200d..example/x".encode(),
                                      b"http://[::1/x"])
def test_a_bad_redirect_is_one_line_and_the_healthy_source_beside_it_is_polled(tmp_path, raw, location):
    bad = raw(serve_each(b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n"))
    good = raw(serve_each(ok(rss("good", 3), "Content-Type: application/rss+xml")))
    w = watcher(tmp_path, {"a-bad": bad.url("/f"), "b-good": good.url("/f")})
    lines = once(w)
    assert "error" in lines["a-bad"] and "redirect" in lines["a-bad"], lines
    assert " ok " in lines["b-good"] and len(stored(w, "b-good")) == 3


def test_an_idn_redirect_through_a_proxy_is_asked_of_the_proxy_idna_encoded(tmp_path, raw):
    bad = raw(serve_each("HTTP/1.1 302 Found\r\nLocation: http://테스트.example/공고\r\nContent-Length: 0\r\n\r\n"
                         .encode()))
    proxy = raw(serve_each(ok(rss("proxied", 2), "Content-Type: application/rss+xml")))
    w = watcher(tmp_path, {"board": bad.url("/f")}, HTTP_PROXY=f"http://127.0.0.1:{proxy.port}",
                NO_PROXY="127.0.0.1")
    assert " ok " in once(w)["board"], (proxy.requests, bad.requests)
    assert proxy.requests[0].split(b" ")[1] == b"http://xn--9t4b11yi5a.example/%EA%B3%B5%EA%B3%A0"


# ---- point 8: secrets stay on the source's host; http(s) only -----------------------------------------

def test_a_sources_key_and_session_cookie_never_reach_another_host(tmp_path, raw):
    other = raw(serve_each(ok(rss("other", 2), "Content-Type: application/rss+xml")))

    own = raw(by_path({b"/login": found(b"/list", b"Set-Cookie: JSESSIONID=s3cr3t; Path=/")},
                      found(other.url("/x", host="localhost").encode())))
    w = watcher(tmp_path, {"board": own.url("/login")}, {"board": {"X-Api-Key": "k-123"}})
    assert " ok " in once(w)["board"]
    assert own.headers_of(1)["x-api-key"] == "k-123" and "JSESSIONID=s3cr3t" in own.headers_of(1)["cookie"]
    sent = other.headers_of(0)
    assert "x-api-key" not in sent and "cookie" not in sent, sent


@pytest.mark.parametrize("scheme", ["ftp", "gopher"])
def test_a_redirect_to_ftp_or_gopher_is_refused(tmp_path, raw, scheme):
    target = raw(serve_each(ok(rss("x", 1))))
    bad = raw(serve_each(f"HTTP/1.1 302 Found\r\nLocation: {scheme}://127.0.0.1:{target.port}/f\r\n"
                         "Content-Length: 0\r\n\r\n".encode()))
    w = watcher(tmp_path, {"board": bad.url("/f")})
    line = once(w)["board"]
    assert "error" in line and f"redirect to {scheme} URL refused" in line, line
    assert target.requests == []


# ---- point 12: a UTF-8 Location ----------------------------------------------------------------------

def test_a_utf8_location_is_followed_once_encoded(tmp_path, raw):
    server = raw(by_path({b"/start": found(b"/\xea\xb3\xb5\xea\xb3\xa0?q=\xea\xb3\xb5"),
                          b"/%EA%B3%B5%EA%B3%A0?q=%EA%B3%B5": ok(rss("utf8", 2), "Content-Type: application/rss+xml")},
                         b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
    w = watcher(tmp_path, {"board": server.url("/start")})
    assert " ok " in once(w)["board"]
    assert len(stored(w, "board")) == 2


# ---- point 8: a downgrade from https to http, through `watcher once` ----------------------------------

def test_a_sources_token_and_cookie_never_follow_a_downgrade_to_http(tmp_path, raw):
    (tmp_path / "tls").mkdir()
    made = self_signed(tmp_path / "tls")
    if made is None:
        pytest.skip("no openssl to make a certificate for the local TLS server")
    cafile, context = made
    plain = raw(serve_each(ok(rss("plain", 2), "Content-Type: application/rss+xml")))
    # /next is on the same host name, but http: the token and the session cookie must stay behind
    secure = raw(by_path({b"/start": found(b"/next", b"Set-Cookie: JSESSIONID=abc; Path=/")},
                         found(plain.url("/x").encode())), tls=context)
    w = watcher(tmp_path, {"board": secure.url("/start")},
                {"board": {"Authorization": "Bearer t-456", "X-Api-Key": "k-123"}}, REQUESTS_CA_BUNDLE=str(cafile))
    assert " ok " in once(w)["board"]
    assert secure.headers_of(1)["authorization"] == "Bearer t-456"
    assert "JSESSIONID=abc" in secure.headers_of(1)["cookie"]
    sent = plain.headers_of(0)
    assert not {"x-api-key", "authorization", "cookie"} & set(sent), sent
