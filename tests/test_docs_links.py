"""The repository's docs stand on their own: links resolve inside it, nothing points outside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHIPPED = [*DOCS, ROOT / "sources.yaml", ROOT / "rules.yaml", *sorted((ROOT / "deploy").iterdir())]


def test_readme_links_the_config_and_deploy_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/CONFIG.md)" in readme and "(docs/DEPLOY.md)" in readme


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_no_reference_to_files_outside_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for outside in ("CONTRACT.md", "SOURCES.md", "../shared", "/work/"):
        assert outside not in text, f"{path.name} refers to {outside}, which users of the repository do not have"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        assert (path.parent / target).exists(), f"{path.name}: link to {target}, which does not exist"
