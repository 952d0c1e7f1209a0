"""Where the real captures live: `../shared/samples/real/` beside the repository (CI has it there).

Tests never copy those files into the repository; without the folder they skip with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """`../shared` relative to the repository root (resolved, so worktrees' symlinks work)."""
    return ROOT.parent / "shared"


def real_capture(relative: str) -> Path:
    """One file of `../shared/samples/real/`, e.g. `btp/bizsupport-btp_list.html`; skips when absent."""
    path = shared_dir() / "samples" / "real" / relative
    if not path.is_file():
        pytest.skip(f"../shared/samples/real not present: {path} is missing")
    return path


def real_dir() -> Path:
    """The folder of real captures, `../shared/samples/real/`; skips when absent."""
    path = shared_dir() / "samples" / "real"
    if not path.is_dir():
        pytest.skip(f"../shared/samples/real not present: {path} is missing")
    return path
