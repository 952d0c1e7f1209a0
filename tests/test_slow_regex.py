"""#25 point 4: a `re:` keyword that can take exponential time. `check` refuses nested quantifiers
(FILE:LINE); one that gets past it (an alternation under a star) is bounded in time in a real
`watcher run`: the other items are alerted, the timed-out item is recorded and `status` names the
rule, and SIGTERM ends `run` within seconds."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import datetime, timedelta
from email.utils import format_datetime

from tests.e2e import KST, Watcher

SLOW = "가" * 40 + " 공모x"  # the slow pattern almost matches it, in exponentially many ways


def rss(titles: list[str]) -> str:
    when = format_datetime(datetime.now(KST) - timedelta(hours=2))
    items = "".join(f"<item><title>{t}</title><link>http://example.org/{i}</link><pubDate>{when}</pubDate></item>"
                    for i, t in enumerate(titles))
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


def rules(pattern: str) -> str:
    return ('defaults:\n  channel: "#g"\nrules:\n  - name: slow\n'
            f"    any: ['re:{pattern}']\n    channel: \"#slow\"\n"
            "  - name: plain\n    any: [바우처]\n")


def test_check_refuses_nested_quantifiers_at_their_line(tmp_path):
    w = Watcher(tmp_path)
    w.write("sources.yaml", "sources:\n  - id: s\n    url: http://127.0.0.1:9/\n")
    w.write("rules.yaml", rules(r"(\w+\s*)+공모$"))
    done = w("check")
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{tmp_path / 'rules.yaml'}:5: " in done.stderr and "nested quantifiers" in done.stderr, done.stderr


def test_a_slow_regex_costs_only_its_items_and_run_still_answers_sigterm(tmp_path, feeds, slack):
    slack.min_interval = 0
    titles = [SLOW, "AI 바우처 지원사업 공고", SLOW.replace("x", "y"), "데이터 바우처 공고", SLOW.replace("x", "z")]
    feeds.set("/f.xml", rss(titles))
    w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url})
    w.write("sources.yaml", f"sources:\n  - id: board\n    url: {feeds.url('/f.xml')}\n    timeout: 10s\n")
    w.write("rules.yaml", rules(r"(\w|\w\w)*공모$"))  # no nested quantifier: check lets it through
    assert w("check").returncode == 0
    proc = w.popen("run")
    try:
        end = time.monotonic() + 60
        while len(slack.messages_for("#g")) < 2 and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.2)
        delivered = len(slack.messages_for("#g"))
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            raise AssertionError(f"run ignored SIGTERM ({delivered} alerts delivered)") from None
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert delivered == 2, err[-2000:]
    assert proc.returncode == 0 and took < 12, (proc.returncode, took, err[-2000:])
    assert "ran out of time" in err and "re:(\\w|\\w\\w)*공모$" in err, err[-2000:]
    assert len(w.json("search", "공모x")) == 1  # the slow item is stored all the same
    status = w("status")
    assert "rule slow: re:(\\w|\\w\\w)*공모$ ran out of time on" in status.stdout, status.stdout


def test_regex_problem_tells_nested_quantifiers_from_separated_repeats():
    from watcher.match.guard import regex_problem

    for bad in [r"(\w+\s*)+공모$", r"(a*)*", r"(x+y?){2,}", r"(.*a)+", r"((ab)*c)*"]:
        assert regex_problem(bad) is not None, bad
    for fine in [r"\((강소|대덕)\s*\d+(\s*-\s*\d+)*\)", r"(\w+,)+", r"([^,]+,)+끝", r"(\d{4})+", r"(?:ab)+",
                 r"(a++)+", r"(?>a+)+", r"체외\s*진단", r"(\w|\w\w)*공모$"]:
        assert regex_problem(fine) is None, fine
