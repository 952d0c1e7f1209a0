"""Every pin of constraints.txt installs on the Pythons teams have, checked offline.

A pin whose release says `Requires-Python: >=3.11.5` (soupsieve 3.0.4 and later) makes pip give up on
Debian 12's Python 3.11.2 with "conflicting dependencies", although the pins install fine on the newer
Python of a developer's machine. This test reads what `make test` installed from constraints.txt (each
distribution's METADATA in .venv: `Requires-Python` and `Requires-Dist`) and evaluates it, with
`packaging`, for each Python below: every pin must accept it, and every dependency a pinned package
declares for it must be pinned at a version that satisfies the declaration. No network is needed.

| Python | where |
|---|---|
| 3.11.0 | the oldest version pyproject.toml's `requires-python` admits (Ubuntu 22.04's `python3.11`) |
| 3.11.2 | Debian 12 (bookworm) |
| 3.12.3 | Ubuntu 24.04 |
| 3.13.5 | Debian 13 (trixie) |
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
# Every venv has pip (sqlite-utils declares it); pip itself picks a release for the Python it runs on.
UNPINNED = {"pip", "setuptools"}
PYTHONS = {"3.11.0": "requires-python's lower bound", "3.11.2": "Debian 12", "3.12.3": "Ubuntu 24.04",
           "3.13.5": "Debian 13"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str | None = None) -> dict[str, str]:
    text = (ROOT / "constraints.txt").read_text(encoding="utf-8") if text is None else text
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, ver = line.partition("==")
            out[norm(name)] = ver.strip()
    return out


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def environment(python: str) -> dict[str, str]:
    env = dict(default_environment())
    env.update(python_version=".".join(python.split(".")[:2]), python_full_version=python,
               implementation_name="cpython", platform_python_implementation="CPython",
               sys_platform="linux", platform_system="Linux", os_name="posix")
    return env


def metadata(name: str, pinned: str) -> tuple[str | None, list[str]]:
    """(Requires-Python, Requires-Dist) of the installed distribution, which must be the pinned one."""
    try:
        dist = distribution(name)
    except PackageNotFoundError:
        pytest.fail(f"{name}=={pinned} is pinned but not installed: run `make test` (it installs constraints.txt)")
    assert dist.version == pinned, f"{name}: {dist.version} installed, {pinned} pinned: reinstall (`make test`)"
    return dist.metadata.get("Requires-Python"), dist.requires or []


def problems(python: str, pinned: dict[str, str], meta=metadata) -> list[str]:
    """Why the pins would not install on `python` ([] when they would)."""
    env = environment(python)
    out: list[str] = []
    todo = [(Requirement(r), "pyproject.toml") for r in project()["dependencies"]]
    todo += [(Requirement(r), "pyproject.toml [test]") for r in project()["optional-dependencies"]["test"]]
    seen: set[str] = set()
    while todo:
        req, by = todo.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
            continue
        name = norm(req.name)
        if name in UNPINNED:
            continue
        if name not in pinned:
            out.append(f"{req.name} (needed by {by} on {python}) is not pinned in constraints.txt")
            continue
        if not req.specifier.contains(pinned[name], prereleases=True):
            out.append(f"{req.name}=={pinned[name]} does not satisfy {by}'s '{req}'")
        if name in seen:
            continue
        seen.add(name)
        requires_python, requires = meta(req.name, pinned[name])
        if requires_python and not SpecifierSet(requires_python).contains(python, prereleases=True):
            out.append(f"{req.name}=={pinned[name]} needs Python {requires_python}, not {python}")
        for line in requires:
            sub = Requirement(line)
            if sub.marker is None or any(sub.marker.evaluate({**env, "extra": e}) for e in ("", *req.extras)):
                sub.marker = None
                todo.append((sub, f"{req.name}=={pinned[name]}"))
    return out


def test_requires_python_admits_debian_12_and_not_3_10() -> None:
    spec = SpecifierSet(project()["requires-python"])
    assert "3.11.2" in spec and "3.11.0" in spec and "3.10.12" not in spec


def test_oldest_python_checked_is_requires_pythons_lower_bound() -> None:
    bound = re.fullmatch(r">=\s*([\d.]+)", project()["requires-python"].strip())
    assert bound, "requires-python should be a plain lower bound, like >=3.11"
    assert min(PYTHONS, key=Version) == str(Version(bound.group(1) + ".0" * (2 - bound.group(1).count("."))))


@pytest.mark.parametrize("python", PYTHONS, ids=lambda p: f"{p} {PYTHONS[p]}")
def test_every_pin_installs_on(python: str) -> None:
    found = problems(python, pins())
    assert not found, f"constraints.txt would not install on Python {python} ({PYTHONS[python]}):\n" + "\n".join(found)


def test_the_check_catches_a_pin_needing_a_newer_python() -> None:
    """The check itself, on soupsieve 4.1.3's real `Requires-Python` and on an unpinned dependency."""
    def soupsieve_413(name: str, pinned: str) -> tuple[str | None, list[str]]:
        return (">=3.11.5", []) if norm(name) == "soupsieve" else metadata(name, pinned)

    found = problems("3.11.2", pins(), soupsieve_413)
    assert any("needs Python >=3.11.5, not 3.11.2" in p for p in found), found
    assert not problems("3.11.7", pins(), soupsieve_413)
    unpinned = {k: v for k, v in pins().items() if k != "soupsieve"}
    assert any("soupsieve" in p and "not pinned" in p for p in problems("3.11.2", unpinned))
