"""What deploy/, the Dockerfile and constraints.txt ship is well formed and says what DEPLOY.md promises.

systemd units: a strict parse (sections, keys, required settings) always, and `systemd-analyze verify`
where it is installed. Compose: loaded as YAML and checked. Dockerfile: instruction order, HEALTHCHECK,
USER. constraints.txt: pins every dependency at the version installed here.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from watcher.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))
SHIPPED_BIN = "/opt/gongmo-watcher/.venv/bin/watcher"
SECTIONS = {"Unit", "Service", "Install"}
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
             "PrivateDevices": "yes", "CapabilityBoundingSet": "", "RestrictSUIDSGID": "yes"}


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file, strictly: every line a comment, a [Section] or Key=Value inside one."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        assert not raw.endswith("\\"), f"{path.name}:{n}: keep each setting on one line"
        if m := re.fullmatch(r"\[(\w+)\]", line):
            current = m.group(1)
            assert current in SECTIONS, f"{path.name}:{n}: unknown section [{current}]"
            assert current not in sections, f"{path.name}:{n}: section [{current}] twice"
            sections[current] = {}
            continue
        m = re.fullmatch(r"([A-Za-z][A-Za-z0-9]*)=(.*)", line)
        assert m and current, f"{path.name}:{n}: not Key=Value inside a section: {raw!r}"
        sections[current].setdefault(m.group(1), []).append(m.group(2).strip())
    return sections


def test_units_are_shipped_for_run_and_serve() -> None:
    assert [p.name for p in UNITS] == ["gongmo-watcher-web.service", "gongmo-watcher.service"]


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit_parses_strictly_with_required_settings(path: Path) -> None:
    unit = parse_unit(path)
    service = unit["Service"]
    assert unit["Unit"]["Description"][0]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    for key in ("User", "EnvironmentFile", "ExecStart", "ExecStartPre", "StateDirectory", "Restart"):
        assert service.get(key), f"{path.name}: [Service] needs {key}="
    assert service["ExecStartPre"] == [f"{SHIPPED_BIN} check"]
    assert service["EnvironmentFile"] == ["/etc/gongmo-watcher/watcher.env"]
    envs = dict(e.split("=", 1) for e in service["Environment"])
    assert envs["TZ"] == "Asia/Seoul" and envs["WATCHER_DB"] == "/var/lib/gongmo-watcher/watcher.db"
    for key, value in HARDENING.items():
        assert service.get(key) == [value], f"{path.name}: hardening {key}={value}"


def test_run_unit_runs_watcher_run_and_web_unit_serves() -> None:
    run = parse_unit(DEPLOY / "gongmo-watcher.service")["Service"]
    web = parse_unit(DEPLOY / "gongmo-watcher-web.service")["Service"]
    assert run["ExecStart"] == [f"{SHIPPED_BIN} run"]
    assert web["ExecStart"][0].startswith(f"{SHIPPED_BIN} serve ")


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit_commands_are_commands_the_cli_accepts(path: Path) -> None:
    service = parse_unit(path)["Service"]
    for line in service["ExecStart"] + service["ExecStartPre"]:
        args = shlex.split(line)
        assert args[0] == SHIPPED_BIN
        result = CliRunner().invoke(cli, [*args[1:], "--help"])
        assert result.exit_code == 0, f"{line}: {result.output}"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_systemd_analyze_verify_finds_nothing(path: Path, tmp_path: Path) -> None:
    """verify insists the binary exists: the copy points at this checkout's watcher, nothing else changes."""
    here = Path(sys.executable).parent / "watcher"
    if not here.exists():
        pytest.skip("the watcher command is not installed beside this Python")
    copy = tmp_path / path.name
    copy.write_text(path.read_text(encoding="utf-8").replace(SHIPPED_BIN, str(here)), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(copy)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr  # unknown keys are only warnings: none allowed either


def test_cron_line_runs_once_under_flock() -> None:
    lines = [ln for ln in (DEPLOY / "gongmo-watcher.cron").read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]
    env = [ln for ln in lines if re.fullmatch(r"[A-Z_]+=\S*", ln)]
    jobs = [ln for ln in lines if ln not in env]
    assert len(jobs) == 1
    fields = jobs[0].split(None, 6)
    assert len(fields) == 7 and fields[5] == "gongmo"  # five time fields, the user, the command
    assert all(re.fullmatch(r"[\d*/,-]+", f) for f in fields[:5])
    assert "flock -n /var/lib/gongmo-watcher/once.lock /opt/gongmo-watcher/.venv/bin/watcher once" in fields[6]
    assert "TZ=Asia/Seoul" in env


# ---------------------------------------------------------------- docker compose

def compose() -> dict:
    return YAML(typ="safe", pure=True).load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_runs_watcher_and_web_on_one_volume() -> None:
    doc = compose()
    services = doc["services"]
    assert set(services) == {"watcher", "web"}
    assert services["watcher"]["command"] == ["watcher", "run"]
    assert services["web"]["command"][:4] == ["watcher", "serve", "--host", "0.0.0.0"]
    for name, svc in services.items():
        assert "data:/data" in svc["volumes"], name
        assert svc["env_file"] == "./watcher.env" and (DEPLOY / "watcher.env.example").exists()
        assert svc["init"] is True, name
        assert svc["environment"]["TZ"] == "Asia/Seoul", name
        assert re.fullmatch(r"\d+s", svc["stop_grace_period"]), name
        assert svc["healthcheck"]["test"][0] == "CMD", name
        assert svc["build"]["context"] == ".." and (DEPLOY / svc["build"]["context"] / "Dockerfile").exists()
    assert "data" in doc["volumes"]
    assert services["watcher"]["healthcheck"]["test"] == ["CMD", "watcher", "status", "--check"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["web"]["ports"] == ["127.0.0.1:8080:8080"]


# ---------------------------------------------------------------- Dockerfile

def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n(\s*#.*\n)*", " ", text)  # line continuations
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_installs_dependencies_before_copying_the_code() -> None:
    steps = instructions()
    copies = [(i, rest) for i, (word, rest) in enumerate(steps) if word == "COPY"]
    deps = next(i for i, (word, rest) in enumerate(steps) if word == "RUN" and "-c constraints.txt" in rest)
    code = next(i for i, rest in copies if rest.split()[0] == "watcher")
    assert deps < code
    before = [rest for i, rest in copies if i < deps]
    assert before == ["pyproject.toml constraints.txt ./"]  # nothing that changes with the code
    assert "--no-deps" in next(rest for word, rest in steps[code:] if word == "RUN")


def test_dockerfile_healthcheck_user_timezone_and_port() -> None:
    steps = instructions()
    words = [w for w, _ in steps]
    health = [rest for word, rest in steps if word == "HEALTHCHECK"]
    assert len(health) == 1 and health[0].endswith('CMD ["watcher", "status", "--check"]')
    users = [(i, rest) for i, (word, rest) in enumerate(steps) if word == "USER"]
    assert users and users[-1][1] not in ("root", "0") and users[-1][0] < words.index("CMD")
    env = " ".join(rest for word, rest in steps if word == "ENV")
    assert "TZ=Asia/Seoul" in env
    assert ("EXPOSE", "8080") in steps


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".venv", "db", "*.env", "tests"} <= ignored


# ---------------------------------------------------------------- constraints.txt

def requirement_names() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return [re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0] for r in reqs if "Windows" not in r]


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, ver = line.partition("==")
            assert sep, f"constraints.txt: pin with ==: {line}"
            out[norm(name)] = ver.strip()
    return out


def test_constraints_pin_every_dependency() -> None:
    pinned = pins()
    missing = [n for n in requirement_names() if norm(n) not in pinned]
    assert not missing, f"not pinned in constraints.txt: {missing} (run `make constraints`)"


def test_installed_versions_are_the_pinned_ones() -> None:
    """`make test` installed with -c constraints.txt, so what runs here is what the image gets."""
    wrong = {}
    for name, pinned in pins().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue  # pinned for a platform or extra not installed here
        if installed != pinned:
            wrong[name] = (installed, pinned)
    assert not wrong, f"installed != constraints.txt: {wrong} (run `make constraints` after a dependency change)"


def test_make_installs_with_the_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("$(STAMP): ", 1)[1].split("\n\n", 1)[0]
    assert "constraints.txt" in recipe.splitlines()[0]  # an edit of the pins reinstalls
    assert "pip install --quiet -c constraints.txt -e '.[test]'" in recipe
