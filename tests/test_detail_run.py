"""`watcher run` reads new calls between its rounds: an alert whose title matched waits for its call's
reading (to carry the 공고문's lines), but never longer than the source's `detail.wait`."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from io import StringIO

from tests.e2e import KST
from tests.feed_server import FeedServer
from tests.hwp_synth import notice
from watcher.config.load import load_config
from watcher.deliver.senders import ConsoleSender
from watcher.pipeline.loop import Runner
from watcher.store import Store

NOW = datetime.now(KST)
BOARD = ('<table><tbody><tr><td class="t"><a href="/view?no=1">2026년 의료기기 실증 지원 공고</a></td>'
         f'<td class="d">{NOW:%Y.%m.%d}</td></tr></tbody></table>')
PAGE = ('<div class="view"><p>실증 지원</p></div>'
        '<div class="files"><a href="/file?no=1">(공고문) 실증 지원 공고.hwp</a></div>')
CLOSES = NOW + timedelta(days=10)


def runner_for(tmp_path, server: FeedServer, wait: str) -> tuple[Runner, Store, StringIO]:
    server.set("/list", BOARD, content_type="text/html; charset=utf-8")
    server.set("/view?no=1", PAGE, content_type="text/html; charset=utf-8")
    server.set("/file?no=1", notice("실증 지원 공고", f"접수기간 : {NOW:%Y. %m. %d.} ~ {CLOSES:%Y. %m. %d.}",
                                    "지원대상 : 의료기기 기업"), content_type="application/octet-stream")
    (tmp_path / "s.yaml").write_text(f"""\
sources:
  - id: b
    kind: html
    url: {server.base}/list
    items: tbody tr
    fields: {{title: td.t a, link: td.t a@href, published: td.d}}
    detail: {{body: div.view, files: div.files a, wait: {wait}}}
""", encoding="utf-8")
    (tmp_path / "r.yaml").write_text("rules:\n  - name: devices\n    any: [의료기기]\n", encoding="utf-8")
    store, out = Store(tmp_path / "w.db"), StringIO()
    runner = Runner(load_config(tmp_path / "s.yaml", tmp_path / "r.yaml"), store, ConsoleSender(out), tick=0.05)
    runner._last_delivery = 0.0  # as run_forever starts
    return runner, store, out


def rounds_until(runner: Runner, done, seconds: float = 15.0) -> float:
    started = time.monotonic()
    while not done():
        assert time.monotonic() - started < seconds, "not done in time"
        runner._round()
        time.sleep(0.05)
    return time.monotonic() - started


def test_the_alert_waits_for_the_reading_and_carries_its_lines(tmp_path):
    with FeedServer() as server:
        runner, store, out = runner_for(tmp_path, server, "1m")
        try:
            rounds_until(runner, lambda: "──" in out.getvalue())
        finally:
            runner.cycle.close()
            store.close()
    message = out.getvalue()
    assert f"접수기간: {NOW:%Y. %m. %d.} ~ {CLOSES:%Y. %m. %d.}" in message and "지원대상: 의료기기 기업" in message
    assert f"마감: {CLOSES.date().isoformat()}" in message
    assert message.count("──") == 2  # one message (`── #gongmo ──`)


def test_a_slow_reading_never_holds_the_alert_past_its_wait(tmp_path):
    with FeedServer() as server:
        runner, store, out = runner_for(tmp_path, server, "1s")
        server.routes["/file?no=1"].delay = 4  # the 공고문's server is slow (within the 20s timeout)
        try:
            waited = rounds_until(runner, lambda: "──" in out.getvalue())
            assert 0.8 < waited < 3.5  # sent after the 1s wait, without the reading
            assert "접수기간" not in out.getvalue()
            rounds_until(runner, lambda: bool(store.reading("b", f"{server.base}/view?no=1")))
            assert store.reading("b", f"{server.base}/view?no=1")["deadline"] == CLOSES.date().isoformat()
        finally:
            runner.cycle.close()
            store.close()
