"""Helpers for end-to-end tests: drive the installed `watcher` command in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

FIXTURES = Path(__file__).parent / "fixtures"
KST = ZoneInfo("Asia/Seoul")


def watcher_bin() -> str:
    found = Path(sys.executable).parent / "watcher"
    return str(found) if found.exists() else (shutil.which("watcher") or "watcher")


def fill(template: str, base: str, extra: str = "", now: datetime | None = None) -> str:
    now = now or datetime.now(KST)
    day = timedelta(days=1)
    values = {
        "base": base,
        "BASE": base.upper(),
        "extra": extra,
        "rfc_m1": format_datetime(now - day),
        "iso_m1": (now - day).isoformat(timespec="seconds"),
        "dot_m1": (now - day).strftime("%Y.%m.%d"),
        "dot_p20": (now + 20 * day).strftime("%Y.%m.%d"),
    }
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def fixture_text(name: str) -> str:
    return (FIXTURES / "e2e" / name).read_text(encoding="utf-8")


class Watcher:
    """Runs `watcher` with its files in one folder and a clean environment."""

    def __init__(self, folder: Path, env: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WATCHER_"))}
        self.env.update({
            "WATCHER_SOURCES": str(folder / "sources.yaml"),
            "WATCHER_RULES": str(folder / "rules.yaml"),
            "WATCHER_DB": str(folder / "db" / "watcher.db"),
            "NO_PROXY": "127.0.0.1,localhost",
        })
        self.env.update(env or {})

    def write(self, name: str, text: str) -> Path:
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        return path

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([watcher_bin(), *args], env=self.env, cwd=self.folder, capture_output=True,
                              text=True, timeout=timeout)

    def run_with(self, prefix: tuple[str, ...] | list[str], *args: str,
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`watcher` run under a wrapper command, e.g. ("faketime", "-f", "+2d")."""
        return subprocess.run([*prefix, watcher_bin(), *args], env=self.env, cwd=self.folder, capture_output=True,
                              text=True, timeout=timeout)

    def json(self, *args: str) -> list[dict]:
        done = self(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([watcher_bin(), *args], env=self.env, cwd=self.folder, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
