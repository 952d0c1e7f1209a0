"""The service's log: routine events at INFO (shown without -v), nothing routine at WARNING, and a line
when it stops."""

from __future__ import annotations

import re
import signal

from tests.test_run import GANGSO, RULES, make_watcher, rss, titles, wait_for


def test_run_logs_start_reload_rematch_and_shutdown_at_info(tmp_path, feeds, slack):
    feeds.set("/f.xml", rss([("1", "디지털헬스케어 실증 공모"), ("2", "강소특구 기업 모집")]))
    w = make_watcher(tmp_path, feeds, slack)
    proc = w.popen("run")
    try:
        assert wait_for(lambda: titles(slack, "#health"))
        w.write("rules.yaml", RULES.format(digest_over=5, extra=GANGSO))
        assert wait_for(lambda: titles(slack, "#teukgu"))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = err.splitlines()
    for words in ("INFO watching 1 sources", "INFO config reloaded: 1 sources", "INFO rules changed:",
                  "INFO SIGTERM received: finishing the write in hand, then stopping", "INFO stopped"):
        assert any(words in line for line in lines), (words, err)
    assert lines[-1].endswith("INFO stopped")
    assert not [line for line in lines if re.search(r" (WARNING|ERROR) ", line)], err


def test_once_logs_a_rules_edit_at_info(tmp_path, feeds, slack):
    feeds.set("/f.xml", rss([("2", "강소특구 기업 모집")]))
    w = make_watcher(tmp_path, feeds, slack)
    assert w("once").returncode == 0
    w.write("rules.yaml", RULES.format(digest_over=5, extra=GANGSO))
    done = w("once")
    assert " INFO rules changed: " in done.stderr and "WARNING" not in done.stderr, done.stderr
