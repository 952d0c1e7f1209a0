"""Answers that broke the home-made client (issue 25 points 2, 5, 6, 8, 12), against raw socket
servers on 127.0.0.1: each is one `fetch: ...` line for that source or the right answer, never a
wrong body, a leaked secret, or an exception escaping."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib

import pytest

from tests.raw_server import RawServer, by_path, found, ok, self_signed, serve_each
from watcher.errors import FetchError
from watcher.fetch.poll import FetchState, fetch, make_session
from watcher.models import Source

FEED = b"<rss>" + "공고 ".encode() * 300 + b"</rss>"


@pytest.fixture()
def raw():
    servers: list[RawServer] = []

    def start(handler, tls=None) -> RawServer:
        servers.append(RawServer(handler, tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def poll(url: str, session=None, state=None, **kw) -> object:
    return fetch(session or make_session(), Source(id="t", url=url, **{"timeout": 3.0, **kw}), state)


def one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert text.startswith("fetch: ") and "\n" not in text and len(text) < 300, text
    return text


# ---- point 5: 1xx answers ------------------------------------------------------------------------

def test_103_early_hints_and_102_are_skipped_and_the_final_answer_read(raw):
    server = raw(serve_each(
        b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
        + ok(b"<rss>first</rss>", 'ETag: "1"'),
        ok(b"<rss>second</rss>")))
    session = make_session()
    first = poll(server.url("/a"), session)
    assert first.body == b"<rss>first</rss>" and first.etag == '"1"'
    assert poll(server.url("/b"), session).body == b"<rss>second</rss>"
    assert server.connections == 1  # the same kept-alive connection, in step


def test_six_sources_on_one_host_each_get_their_own_answer_despite_early_hints(raw):
    def handler(conn, server):
        buf = bytearray()
        while (head := server.next_request(conn, buf)) is not None:
            path = head.split(b" ")[1]
            conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n")
            time.sleep(0.01)  # the final answer in another packet
            conn.sendall(ok(b"<rss>" + path + b"</rss>"))

    server = raw(handler)
    session = make_session(pool_size=2)
    for _ in range(2):
        for i in range(6):
            assert poll(server.url(f"/s{i}"), session).body == f"<rss>/s{i}</rss>".encode()


def test_endless_interim_answers_are_one_line(raw):
    server = raw(serve_each(b"HTTP/1.1 103 Early Hints\r\n\r\n" * 50 + ok(b"x")))
    with pytest.raises(FetchError) as err:
        poll(server.url())
    assert "interim (1xx)" in one_line(err)


def test_a_late_extra_answer_on_a_kept_alive_connection_is_never_the_next_polls_answer(raw):
    def handler(conn, server):
        buf = bytearray()
        n = 0
        while server.next_request(conn, buf) is not None:
            n += 1
            conn.sendall(ok(f"<rss>{n}</rss>".encode()))
            if n == 1:
                time.sleep(0.1)
                conn.sendall(ok(b"<rss>EXTRA</rss>"))  # nobody asked for it

    server = raw(handler)
    session = make_session()
    assert poll(server.url("/a"), session).body == b"<rss>1</rss>"
    time.sleep(0.3)
    assert poll(server.url("/b"), session).body == b"<rss>1</rss>"  # a new connection's first answer
    assert server.connections == 2


# ---- point 2: bodies cut short -------------------------------------------------------------------

def cut(answer: bytes):
    return serve_each(answer, close_after=True)


def test_a_body_shorter_than_its_content_length_is_an_error_and_keeps_the_validators(raw):
    server = raw(cut(b'HTTP/1.1 200 OK\r\nETag: "new"\r\nContent-Length: 1000\r\n\r\n' + FEED[:400]))
    old = FetchState(etag='"old"', last_modified="Sat, 21 Nov 2026 09:00:00 GMT", body_hash="h")
    with pytest.raises(FetchError) as err:
        poll(server.url(), state=old)  # raises: the caller stores nothing and keeps `old`
    assert one_line(err).startswith("fetch: body cut off: IncompleteRead(400 bytes read, 600 more expected)")
    assert server.headers_of(0)["if-none-match"] == '"old"'


@pytest.mark.parametrize("with_length", [True, False])
def test_a_truncated_gzip_stream_is_an_error(raw, with_length):
    packed = gzip.compress(FEED * 20)
    part = packed[: len(packed) // 2]
    length = f"Content-Length: {len(part)}\r\n" if with_length else "Connection: close\r\n"
    server = raw(cut(f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n{length}\r\n".encode() + part))
    with pytest.raises(FetchError) as err:
        poll(server.url())
    assert one_line(err) == "fetch: body cut off: gzip stream cut off before its end"


def test_a_gzip_stream_missing_only_its_trailer_is_an_error(raw):
    part = gzip.compress(FEED)[:-8]  # every byte of the text is there, not the CRC and length
    server = raw(cut(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n" + f"Content-Length: {len(part)}\r\n\r\n".encode()
                     + part))
    with pytest.raises(FetchError, match="gzip stream cut off"):
        poll(server.url())


def test_a_truncated_deflate_or_brotli_stream_is_an_error(raw):
    part = zlib.compress(FEED * 20)[:-30]
    server = raw(cut(b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nConnection: close\r\n\r\n" + part))
    with pytest.raises(FetchError, match="deflate stream cut off"):
        poll(server.url())
    brotli = pytest.importorskip("brotli")
    part = brotli.compress(FEED * 20)[:-5]
    server = raw(cut(b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nConnection: close\r\n\r\n" + part))
    with pytest.raises(FetchError, match="br stream cut off"):
        poll(server.url())


@pytest.mark.parametrize("answer,message", [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "body cut off"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", "body cut off"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhello", "body cut off"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 9\r\n\r\nhello", "Content-Length"),
    (b"HTTP/1.1 2000 OK\r\n\r\n", "connection failed"),
    (b"garbage\r\n\r\n", "connection failed"),
    (b"", "connection failed: Remote end closed connection without response"),
])
def test_broken_framing_is_one_line(raw, answer, message):
    server = raw(cut(answer))
    with pytest.raises(FetchError) as err:
        poll(server.url())
    assert message in one_line(err)


def test_chunked_bodies_with_trailers_are_read_and_the_connection_kept(raw):
    server = raw(serve_each(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"5\r\n<rss>\r\n6;ext=1\r\n</rss>\r\n0\r\nX-Trailer: 1\r\n\r\n"))
    session = make_session()
    assert poll(server.url(), session).body == b"<rss></rss>"
    assert poll(server.url(), session).body == b"<rss></rss>"
    assert server.connections == 1


# ---- bombs and caps ------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_a_decompression_bomb_stops_at_max_bytes(raw, encoding):
    zeros = b"\0" * (256 * 1024 * 1024)
    if encoding == "br":
        brotli = pytest.importorskip("brotli")
        packed = brotli.compress(zeros, quality=5)
    else:
        packed = gzip.compress(zeros, 6) if encoding == "gzip" else zlib.compress(zeros, 6)
    server = raw(serve_each(f"HTTP/1.1 200 OK\r\nContent-Encoding: {encoding}\r\n"
                            f"Content-Length: {len(packed)}\r\n\r\n".encode() + packed))
    import tracemalloc

    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(FetchError) as err:
        poll(server.url(), max_bytes=5_000_000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert one_line(err) == "fetch: body exceeds max_bytes 5000000"
    assert time.monotonic() - started < 2 and peak < 30_000_000, peak


# ---- points 6, 8, 12: redirects --------------------------------------------------------------------

def redirect_to(location: bytes):
    return serve_each(found(location))


@pytest.mark.parametrize("location,message", [
    (b"http://127.0.0.1:99999/x", "bad redirect to http://127.0.0.1:99999/x: "),
    (b"http://[::1/x", "bad redirect to http://[::1/x: Invalid IPv6 URL"),
    (b"http://" + b"a" * 70 + b".example/x", "bad URL http://aaaa"),  # urllib3 refuses it at connect
    ("http://테스트\u200d..example/x".encode(), "bad redirect to"),
    (b"ftp://127.0.0.1/feed.xml", "redirect to ftp URL refused (http and https only): ftp://127.0.0.1/feed.xml"),
    (b"gopher://127.0.0.1:70/_GET", "redirect to gopher URL refused"),
    (b"file:///etc/passwd", "redirect to file URL refused"),
])
def test_a_bad_redirect_is_one_line_for_its_source(raw, location, message):
    server = raw(redirect_to(location))
    with pytest.raises(FetchError) as err:
        poll(server.url())
    assert message in one_line(err)
    assert len(server.requests) == 1


def test_an_idn_redirect_through_a_proxy_is_requested_idna_encoded(raw, monkeypatch):
    server = raw(redirect_to("http://테스트.example/공고?q=공".encode()))
    proxy = raw(serve_each(ok(b"<rss>via proxy</rss>")))
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    for name in ("http_proxy", "no_proxy", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert poll(server.url()).body == b"<rss>via proxy</rss>"
    assert proxy.requests[0].split(b" ")[1] == b"http://xn--9t4b11yi5a.example/%EA%B3%B5%EA%B3%A0?q=%EA%B3%B5"


def test_an_idn_redirect_direct_is_one_line(raw, monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    server = raw(redirect_to("http://테스트.invalid/x".encode()))
    with pytest.raises(FetchError) as err:
        poll(server.url())
    assert one_line(err) == "fetch: connection failed: Name or service not known (테스트.invalid)"


def test_a_utf8_location_is_requested_once_encoded(raw):
    utf8 = b"/\xea\xb3\xb5\xea\xb3\xa0/\xeb\xb3\xb4\xea\xb8\xb0?q=\xea\xb3\xb5&k=a%2Bb"  # /공고/보기?q=공&k=a%2Bb
    server = raw(by_path({b"/start": found(utf8)}, ok(b"<rss/>")))
    result = poll(server.url("/start"))
    assert server.target_of(1) == "/%EA%B3%B5%EA%B3%A0/%EB%B3%B4%EA%B8%B0?q=%EA%B3%B5&k=a%2Bb"
    assert result.url == server.url("/%EA%B3%B5%EA%B3%A0/%EB%B3%B4%EA%B8%B0?q=%EA%B3%B5&k=a%2Bb")


def test_a_latin1_location_is_kept_as_latin1(raw):
    server = raw(redirect_to(b"/caf\xe9"))
    with pytest.raises(FetchError):  # the redirect loops on itself: what matters is what was asked
        poll(server.url(), max_bytes=10)
    assert server.target_of(1) == "/caf%E9"  # the bytes the server sent, percent-encoded


SECRETS = {"X-Api-Key": "k-123", "Authorization": "Bearer t-456", "Cookie": "SRC=own"}
TOKENS = {"X-Api-Key": "k-123", "Authorization": "Bearer t-456"}  # and the session's cookie jar


def test_a_sources_headers_and_cookies_stay_on_its_own_host(raw):
    other = raw(serve_each(ok(b"<rss>other</rss>")))

    # same host first, then another host (localhost is not 127.0.0.1 by name)
    own = raw(by_path({b"/start": found(b"/same", b"Set-Cookie: JSESSIONID=abc; Path=/")},
                      found(other.url("/x", host="localhost").encode())))
    source = Source(id="t", url=own.url("/start"), headers=SECRETS, timeout=3)
    assert fetch(make_session(), source).body == b"<rss>other</rss>"
    for name, value in SECRETS.items():
        assert own.headers_of(0)[name.lower()] == value
        assert own.headers_of(1)[name.lower()].startswith(value)  # same host: kept
    sent = other.headers_of(0)
    assert not {"x-api-key", "authorization", "cookie"} & set(sent), sent


@pytest.fixture(scope="session")
def cert(tmp_path_factory):
    made = self_signed(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("no openssl")
    return made


def test_secrets_and_cookies_never_follow_a_downgrade_to_http(raw, cert, monkeypatch):
    cafile, context = cert
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cafile))
    plain = raw(serve_each(ok(b"<rss>plain</rss>")))

    secure = raw(by_path({b"/start": found(b"/next", b"Set-Cookie: JSESSIONID=abc; Path=/")},
                         found(plain.url("/x").encode())), tls=context)
    source = Source(id="t", url=secure.url("/start"), headers=TOKENS, timeout=3)
    assert fetch(make_session(), source).body == b"<rss>plain</rss>"
    assert secure.headers_of(1)["authorization"] == "Bearer t-456"
    assert "JSESSIONID=abc" in secure.headers_of(1)["cookie"]
    sent = plain.headers_of(0)  # same host name, http: no key, no token, no cookie
    assert not {"x-api-key", "authorization", "cookie"} & set(sent), sent


def test_tls_certificates_are_checked_and_a_failure_is_one_line(raw, cert, monkeypatch):
    cafile, context = cert
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    server = raw(serve_each(ok(b"<rss/>")), tls=context)
    with pytest.raises(FetchError) as err:
        poll(server.url())
    assert one_line(err).startswith("fetch: TLS error: [SSL: CERTIFICATE_VERIFY_FAILED]")
    monkeypatch.setenv("SSL_CERT_FILE", str(cafile))  # honoured as before (and REQUESTS_CA_BUNDLE)
    assert poll(server.url()).body == b"<rss/>"
    with pytest.raises(FetchError, match="^fetch: TLS error: .*Hostname mismatch"):
        poll(server.url(host="localhost"))  # the certificate names 127.0.0.1 only


# ---- keep-alive and deadlines ---------------------------------------------------------------------

def test_a_kept_alive_connection_closed_under_the_request_is_retried_once_on_a_new_one(raw):
    def handler(conn, server):
        buf = bytearray()
        n = 0
        while server.next_request(conn, buf) is not None:
            n += 1
            if n == 2:  # the server's idle timeout fired as our request arrived
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                return
            conn.sendall(ok(b"<rss/>"))

    server = raw(handler)
    session = make_session()
    assert poll(server.url(), session).body == b"<rss/>"
    assert poll(server.url(), session).body == b"<rss/>"
    assert server.connections == 2


def test_a_fresh_connection_closed_without_answer_is_not_retried(raw):
    server = raw(cut(b""))
    with pytest.raises(FetchError, match="Remote end closed connection without response"):
        poll(server.url())
    assert len(server.requests) == 1


def test_the_deadline_covers_every_redirect_hop(raw):
    def handler(conn, server):
        buf = bytearray()
        while server.next_request(conn, buf) is not None:
            time.sleep(0.4)
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n")

    server = raw(handler)
    started = time.monotonic()
    with pytest.raises(FetchError) as err:
        poll(server.url(), timeout=1.0)
    assert one_line(err) == "fetch: timeout after 1s" and time.monotonic() - started < 1.5


def test_a_server_that_accepts_and_says_nothing_is_cut_at_the_deadline(raw):
    server = raw(lambda conn, srv: time.sleep(5))
    started = time.monotonic()
    with pytest.raises(FetchError, match="^fetch: timeout after 1s$"):
        poll(server.url(), timeout=1.0)
    assert time.monotonic() - started < 1.5


def test_a_tls_handshake_that_never_ends_is_cut_at_the_deadline(raw):
    server = raw(lambda conn, srv: time.sleep(5))  # TCP accepted, no ServerHello
    started = time.monotonic()
    with pytest.raises(FetchError, match="^fetch: timeout after 1s$"):
        poll(f"https://127.0.0.1:{server.port}/", timeout=1.0)
    assert time.monotonic() - started < 1.5


def test_polls_of_many_threads_keep_their_own_deadlines_and_answers(raw):
    def handler(conn, server):
        buf = bytearray()
        while (head := server.next_request(conn, buf)) is not None:
            path = head.split(b" ")[1]
            if path.startswith(b"/slow"):
                time.sleep(3)
            conn.sendall(b"HTTP/1.1 103 Early Hints\r\n\r\n" + ok(b"<rss>" + path + b"</rss>"))

    server = raw(handler)
    session = make_session(pool_size=4)
    results: dict[str, object] = {}

    def one(path: str) -> None:
        try:
            results[path] = poll(server.url(path), session, timeout=1.0).body
        except FetchError as exc:
            results[path] = str(exc)

    threads = [threading.Thread(target=one, args=(p,)) for p in [f"/s{i}" for i in range(12)] + ["/slow1", "/slow2"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.pop("/slow1") == results.pop("/slow2") == "fetch: timeout after 1s"
    assert results == {f"/s{i}": f"<rss>/s{i}</rss>".encode() for i in range(12)}
    from watcher.fetch.session import idle_connections

    assert len(idle_connections(session)) <= 4
