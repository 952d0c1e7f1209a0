"""#25 point 10: YAML alias bombs (aliases of aliases) in a rule, in `synonyms` and in a source's
`tags` are refused with FILE:LINE in well under a second by `watcher check`; `watcher run` keeps its
last good config on such an edit and goes on (real processes, memory capped with prlimit)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from datetime import datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.e2e import KST, Watcher, watcher_bin

pytestmark = pytest.mark.skipif(shutil.which("prlimit") is None, reason="prlimit (util-linux) not installed")
CAP = ("prlimit", "--as=1500000000")  # 1.5 GB of address space: a bomb fails fast instead of swapping


def laughs(levels: int = 9) -> str:
    """Anchors of anchors: `x-a8` stands for 9^9 (387 million) words."""
    lines = ['x-a0: &a0 ["공모", "공모", "공모", "공모", "공모", "공모", "공모", "공모", "공모"]']
    lines += [f"x-a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


GOOD_SOURCES = "sources:\n  - id: s\n    url: {url}\n    timeout: 5s\n"
GOOD_RULES = 'defaults:\n  channel: "#g"\nrules:\n  - name: r\n    any: [지원사업]\n'
CASES = {
    "rule": ("rules.yaml", laughs() + 'rules:\n  - name: r\n    any: *a8\n    channel: "#x"\n'),
    "synonyms": ("rules.yaml", laughs() + 'synonyms:\n  - *a8\nrules:\n  - name: r\n    any: [공모]\n'),
    "tags": ("sources.yaml", laughs().replace("x-a", "x-t") + "sources:\n  - id: s\n    url: http://127.0.0.1:9/\n"
             "    tags: *a8\n"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_refuses_an_alias_bomb_at_its_line_at_once(tmp_path, case):
    w = Watcher(tmp_path)
    w.write("sources.yaml", GOOD_SOURCES.format(url="http://127.0.0.1:9/"))
    w.write("rules.yaml", GOOD_RULES)
    name, text = CASES[case]
    w.write(name, text.replace("x-t", "x-a"))
    started = time.monotonic()
    done = w.run_with(CAP, "check", timeout=60)
    assert time.monotonic() - started < 10
    assert done.returncode == 2, done.stderr[-500:]
    line = next(n for n, text in enumerate(text.replace("x-t", "x-a").splitlines(), 1) if "*a4" in text)
    assert f"{tmp_path / name}:{line}: YAML alias *a4 " in done.stderr, done.stderr[-500:]
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr


def rss(base: str, n: int) -> str:
    when = format_datetime(datetime.now(KST) - timedelta(hours=2))
    items = "".join(f"<item><title>지원사업 공고 {i}</title><link>{base}/v?id={i}</link>"
                    f"<pubDate>{when}</pubDate></item>" for i in range(n))
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


def test_run_keeps_its_last_good_config_after_a_bomb_and_goes_on(tmp_path, feeds, slack):
    slack.min_interval = 0
    feeds.set("/f.xml", rss(feeds.base, 1))
    w = Watcher(tmp_path, {"SLACK_BOT_TOKEN": slack.token, "SLACK_API_URL": slack.url})
    w.write("sources.yaml", GOOD_SOURCES.format(url=feeds.url("/f.xml")))
    w.write("rules.yaml", GOOD_RULES)
    proc = subprocess.Popen([*CAP, watcher_bin(), "run"], env=w.env, cwd=w.folder, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        end = time.monotonic() + 20
        while len(slack.messages) < 1 and time.monotonic() < end:
            time.sleep(0.1)
        assert len(slack.messages) == 1
        w.write("rules.yaml", CASES["rule"][1])
        time.sleep(3)  # rounds go on meanwhile (they would each try the reload again)
        assert proc.poll() is None
        # the next good edit is applied: a new rule matches the stored item, and its alert goes out
        w.write("rules.yaml", GOOD_RULES + '  - name: r2\n    any: [공고]\n    channel: "#h"\n')
        end = time.monotonic() + 20
        while not slack.messages_for("#h") and time.monotonic() < end:
            time.sleep(0.1)
        assert slack.messages_for("#h"), "the good edit after the bomb was not applied"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    assert err.count("config edit rejected") == 1, err[-3000:]
    assert f"{tmp_path / 'rules.yaml'}:" in err and "YAML alias *a4" in err
    assert "MemoryError" not in err and "Traceback" not in err
