"""Where the real captures live: `../shared/samples/real/` beside the repository (CI has it; a
worktree reaches it through a `shared` link beside it). Tests skip with the reason when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """`../shared/samples/real` of the repository; pytest.skip when it is not there."""
    real = REPO.parent / "shared" / "samples" / "real"
    if not real.is_dir():
        pytest.skip(f"../shared/samples/real not present: {real} (the real captures sit beside the repository)")
    return real


def capture(relative: str) -> Path:
    """One real capture, e.g. `gbtp/bizsupport-output-gbtp-page_1.html`; skip when missing."""
    path = shared_dir() / relative
    if not path.is_file():
        pytest.skip(f"../shared/samples/real/{relative} not present")
    return path
