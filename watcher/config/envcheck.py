"""The environment as the watcher receives it: values that cannot be what the team meant.

`docker run --env-file FILE` (and docker compose v1) keep quotes as part of a value, so
`SLACK_BOT_TOKEN="xoxb-1-2"` arrives as `"xoxb-1-2"` (Slack answers `invalid_auth`) and
`DATA_GO_KR_KEY=""` as the two characters `""` (the keyed sources switch on with a bogus key);
systemd's EnvironmentFile and the shell's `. FILE` remove them. The environment file therefore holds
plain `NAME=value` lines (deploy/watcher.env.example), and `watcher check` finds, for the Slack
variables and every `${NAME}` the two YAML files use:

- errors: a value wrapped in quotes; a placeholder left from the example (`xoxb-...`, `your-key`,
  `<token>`, `T000/B000/XXXX`);
- warnings: white space around a value; a SLACK_BOT_TOKEN that is not a bot token (`xoxb-`), a
  SLACK_APP_TOKEN that is not an app-level one (`xapp-`), a SLACK_WEBHOOK_URL that is not https.

A quoted value inside `${NAME}` is also refused while loading (watcher/config/yamlcheck.py, `quoted`),
so `once` and `run` never poll with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SLACK_APP_TOKEN", "SLACK_API_URL")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PLACEHOLDER = re.compile(r"\.\.\.|…|<[^>]*>|\b(your|changeme|change-me|placeholder)\b|"
                          r"T000/B000|XXXX|^x+$", re.I)


def quoted(value: str) -> bool:
    """`"abc"`, `'abc'`, `""`: a value whose first and last characters are the same quote."""
    value = value.strip()
    return len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'"


def used_names(paths: Iterable[str | Path]) -> list[str]:
    """The variables `${NAME}` of the given files (unreadable files are the loader's to report)."""
    names: list[str] = []
    for path in paths:
        try:
            names += _VAR.findall(Path(path).read_text(encoding="utf-8-sig", errors="replace"))
        except OSError:
            continue
    return list(dict.fromkeys(names))


def _shown(value: str) -> str:
    """Enough of a value to recognise it, never a whole secret."""
    inner = value.strip().strip("\"'")
    if len(inner) <= 8:
        return value.strip()
    quote = value.strip()[0] if quoted(value) else ""
    return f"{quote}{inner[:5]}…{quote}"


def problems(env: Mapping[str, str], names: Iterable[str]) -> tuple[list[str], list[str]]:
    """(errors, warnings), one line each, for the Slack variables and `names`."""
    errors: list[str] = []
    warnings: list[str] = []
    for name in dict.fromkeys([*SLACK_VARS, *names]):
        value = env.get(name)
        if value is None or value == "":
            continue
        plain = value.strip().strip("\"'")
        if quoted(value):
            if plain:
                errors.append(f"environment: {name} arrives wrapped in quotes ({_shown(value)}): docker --env-file "
                              f"keeps them as part of the value; write {name}={_shown(plain)} without quotes")
            else:
                errors.append(f"environment: {name} is the two characters {value.strip()} (quotes kept by docker "
                              f"--env-file), not empty: write {name}= with nothing after it, or leave the line out")
            continue
        if _PLACEHOLDER.search(plain):
            errors.append(f"environment: {name} looks like the example's placeholder ({_shown(value)}): "
                          f"put the real value in the environment file, or leave {name} out")
            continue
        if value != value.strip():
            warnings.append(f"environment: {name} has white space around its value: remove it")
        if name == "SLACK_BOT_TOKEN" and not plain.startswith("xoxb-"):
            warnings.append("environment: SLACK_BOT_TOKEN does not start with xoxb- (the Bot User OAuth Token)")
        if name == "SLACK_APP_TOKEN" and not plain.startswith("xapp-"):
            warnings.append("environment: SLACK_APP_TOKEN does not start with xapp- (an app-level token)")
        if name == "SLACK_WEBHOOK_URL" and not plain.startswith("https://"):
            warnings.append("environment: SLACK_WEBHOOK_URL is not an https:// URL")
    return errors, warnings
