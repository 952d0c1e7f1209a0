"""fetch.py against a real local HTTP server: limits, conditional GET, Retry-After."""

from __future__ import annotations

import json
import time

import pytest

from watcher.errors import FetchError
from watcher.fetch.poll import USER_AGENT, FetchState, fetch, make_session, retry_after_seconds, with_query
from watcher.models import Source


def test_ok_body_with_validators_and_user_agent(feeds):
    feeds.set("/f", "<rss/>")
    result = fetch(make_session(), feeds.source("/f"))
    assert result.status == "ok" and result.body == b"<rss/>"
    assert result.etag and result.last_modified and result.body_hash
    assert feeds.hits_for("/f")[0].headers["User-Agent"] == USER_AGENT


def test_conditional_get_sends_validators_and_reads_304(feeds):
    feeds.set("/f", "<rss/>")
    session = make_session()
    first = fetch(session, feeds.source("/f"))
    second = fetch(session, feeds.source("/f"), FetchState(first.etag, first.last_modified, first.body_hash))
    assert second.status == "not_modified"
    assert feeds.hits_for("/f")[-1].headers["If-None-Match"] == first.etag


def test_same_body_without_validators_is_unchanged(feeds):
    feeds.set("/f", "<rss/>", conditional=False)
    session = make_session()
    first = fetch(session, feeds.source("/f"))
    again = fetch(session, feeds.source("/f"), FetchState(body_hash=first.body_hash))
    assert again.status == "unchanged"


def test_body_over_max_bytes_is_refused_by_length(feeds):
    feeds.set("/big", b"x" * 5000)
    with pytest.raises(FetchError, match="exceeds max_bytes 1000"):
        fetch(make_session(), feeds.source("/big", max_bytes=1000))


def test_streamed_body_over_max_bytes_is_refused(feeds):
    feeds.set("/big", b"x" * 5000, trickle=0)
    with pytest.raises(FetchError, match="exceeds max_bytes 2000"):
        fetch(make_session(), feeds.source("/big", max_bytes=2000))


def test_timeout_bounds_the_whole_request(feeds):
    feeds.set("/slow", b"y" * 10 * 1024, trickle=0.3)  # each read is quick, the whole is ~3 s
    started = time.monotonic()
    with pytest.raises(FetchError, match="timeout after 1s"):
        fetch(make_session(), feeds.source("/slow", timeout=1.0))
    assert time.monotonic() - started < 2.5


def test_headers_trickled_a_byte_at_a_time_are_cut_at_the_timeout(feeds):
    feeds.set("/drip", "<rss/>", header_trickle=0.3)  # every byte well within a socket timeout
    started = time.monotonic()
    with pytest.raises(FetchError, match="timeout after 1s"):
        fetch(make_session(), feeds.source("/drip", timeout=1.0))
    assert time.monotonic() - started < 1.5  # the headers alone would take over 2 minutes


def test_a_request_within_its_deadline_leaves_the_connection_usable(feeds):
    feeds.set("/f", "<rss/>")
    session = make_session()
    for _ in range(3):
        assert fetch(session, feeds.source("/f", timeout=0.5)).body == b"<rss/>"
    time.sleep(0.7)  # the deadline timers of those requests have long been cancelled
    assert fetch(session, feeds.source("/f", timeout=0.5), FetchState()).status == "ok"


def test_server_error_is_a_fetch_error(feeds):
    feeds.set("/e", "boom", status=500)
    with pytest.raises(FetchError, match="HTTP 500"):
        fetch(make_session(), feeds.source("/e"))


def test_429_reports_retry_after(feeds):
    feeds.set("/r", "", status=429, headers={"Retry-After": "120"})
    with pytest.raises(FetchError) as err:
        fetch(make_session(), feeds.source("/r"))
    assert err.value.retry_after == 120 and str(err.value) == "fetch: HTTP 429, retry after 120s"


def test_connection_refused_is_one_line():
    with pytest.raises(FetchError) as err:
        fetch(make_session(), Source(id="t", url="http://127.0.0.1:9/feed", timeout=2))
    assert str(err.value) == "fetch: connection failed: Connection refused (127.0.0.1:9)"


@pytest.mark.parametrize("value,expected", [
    ("30", 30.0), (None, None), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
])
def test_retry_after_forms(value, expected):
    assert retry_after_seconds(value) == expected


def test_with_query_replaces_one_parameter_and_keeps_order():
    url = "https://x/api?serviceKey=a%2Bb&pageNo=1&numOfRows=100"
    assert with_query(url, pageNo="7") == "https://x/api?serviceKey=a%2Bb&numOfRows=100&pageNo=7"


def test_oldest_first_api_fetches_its_last_pages(feeds):
    def page(n: int) -> str:
        items = {"item": [{"pblancNm": f"page {n}"}]}
        return json.dumps({"response": {"header": {"resultCode": "00"}, "body": {"totalCount": 25, "items": items}}})

    for n in (1, 2, 3):
        feeds.set(f"/api?numOfRows=10&pageNo={n}", page(n), content_type="application/json")
    source = Source(id="api", url=feeds.url("/api?numOfRows=10&pageNo=1"), kind="json",
                    items="response.body.items.item", fields={"title": "pblancNm"},
                    paging={"page": "pageNo", "size": "numOfRows", "total": "response.body.totalCount",
                            "order": "oldest-first", "max_pages": 2})
    result = fetch(make_session(), source)
    assert [b.decode() for b in result.more_bodies] == [page(3), page(2)]
    assert [h.path for h in feeds.hits] == ["/api?numOfRows=10&pageNo=1", "/api?numOfRows=10&pageNo=3",
                                             "/api?numOfRows=10&pageNo=2"]
