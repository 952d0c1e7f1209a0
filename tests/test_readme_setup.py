"""The README's "Set up for real", followed as written, against a local feed server and a local Slack:
the environment file made from deploy/watcher.env.example, then each command of the section's shell
block in order, run by bash, each exiting 0; then `watcher run` as step 4 says, stopped by SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from tests.e2e import Watcher, fill, fixture_text, watcher_bin
from tests.feed_server import FeedServer

ROOT = Path(__file__).resolve().parent.parent
RULES = """\
defaults:
  channel: "#gongmo"
  ops_channel: "#gongmo-ops"
rules:
  - name: digital-health
    label: 디지털헬스케어
    any: [디지털헬스케어]
    channel: "#tp-dx"
"""


def section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("## Set up for real\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_setup_runs_end_to_end(tmp_path, slack):
    steps = section()
    assert "deploy/watcher.env.example" in steps and "docs/DEPLOY.md" in steps
    block = re.search(r"```sh\n(.*?)```", steps, re.S).group(1)
    commands = [line.split("  #", 1)[0].strip() for line in block.strip().splitlines()]
    assert commands[0] == "set -a; . ./watcher.env; set +a"
    assert [c for c in commands[1:] if not c.startswith(".venv/bin/watcher ")] == []

    with FeedServer() as feeds:
        feeds.set("/rss.xml", fill(fixture_text("rss.xml"), feeds.base))
        w = Watcher(tmp_path)
        # step 1: the team's sources and rules (channels quoted)
        w.write("sources.yaml", f"sources:\n  - id: board\n    name: 보건 공지\n    url: {feeds.base}/rss.xml\n")
        w.write("rules.yaml", RULES)
        # step 2: the environment file from the example, values filled in without quotes
        example = (ROOT / "deploy" / "watcher.env.example").read_text(encoding="utf-8")
        env_file = re.sub(r"^SLACK_BOT_TOKEN=$", f"SLACK_BOT_TOKEN={slack.token}", example, flags=re.M)
        assert env_file != example
        w.write("watcher.env", env_file + f"SLACK_API_URL={slack.url}\n")
        (tmp_path / ".venv" / "bin").mkdir(parents=True)
        (tmp_path / ".venv" / "bin" / "watcher").symlink_to(watcher_bin())
        env = {k: v for k, v in w.env.items() if not k.startswith("WATCHER_")}  # defaults: ./sources.yaml ...
        # step 3: the block, line by line, in one shell (the environment file stays exported)
        script = "set -e\n" + "".join(f"{c}\necho '=== ok: {c}'\n" for c in commands)
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
        for c in commands:
            assert f"=== ok: {c}" in done.stdout
        assert "ok: 1 of 1 sources enabled, 1 rules" in done.stdout
        assert "#tp-dx: ok, test message posted" in done.stdout
        assert "healthy:" in done.stdout and "no alerts waiting" in done.stdout
        alerts = [m for m in slack.messages if m["channel"] == "#tp-dx" and "연결 테스트" not in m["text"]]
        assert len(alerts) == 1 and "디지털 헬스케어" in alerts[0]["text"]
        assert "디지털헬스케어" in str(alerts[0]["blocks"])  # the rule's label

        # step 4: keep it running
        proc = subprocess.Popen(["bash", "-c", "set -a; . ./watcher.env; set +a; exec .venv/bin/watcher run"],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "INFO stopped" in err, err
        assert os.path.exists(tmp_path / "db" / "watcher.db")
