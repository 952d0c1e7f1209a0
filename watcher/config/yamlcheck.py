"""Line-aware reading and checking of a YAML config file, independent of what the file describes.

`read_yaml` loads one file with ruamel.yaml's round-trip loader (which keeps every key's and list
item's line) and turns read and syntax errors into one problem each; a `Ctx` collects the problems
of one file as (line, message) and formats them `FILE:LINE: message`. The getters (`get_str`,
`get_str_list`, `get_str_map`, `get_duration`, `get_size`, `get_mapping`, `get_items`) and
`check_keys` validate one key of a mapping, record a problem at the line of the offending key or
item, substitute `${NAME}` from the environment, and return None for an absent, null or invalid
value. `parse_duration` and `parse_size` read the duration and size forms the files share.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from watcher.config import envcheck, yamlwords
from watcher.config.yamlsafe import alias_problem

Env = Mapping[str, str]
PathLike = str | os.PathLike[str]

VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_UNITS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "mins": 60,
          "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
          "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}
_SIZES = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


# ---------------------------------------------------------------- durations and sizes

class UnitMissing(ValueError):
    """A duration written as a bare number (`14`): seconds, days? The files say which."""

    def __init__(self, value: str | int | float) -> None:
        shown = _shown(value)
        super().__init__(f"{shown} needs a unit: {shown}d, {shown}h, {shown}m or {shown}s")


def _shown(value: str | int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_duration(value: str | int | float) -> float:
    """`30s`, `10m`, `2h`, `1d`, `1w`, `1h30m` -> seconds. A bare number (`14`, `"90"`) raises
    UnitMissing: 14 seconds or 14 days is the writer's call, not ours."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"invalid duration {value!r} (use e.g. 30s, 10m, 2h, 1d)")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"invalid duration {value!r}: must not be negative")
        raise UnitMissing(value)
    text = value.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        raise UnitMissing(value)
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]+)\s*", text)
    if not re.fullmatch(r"(\d+(\.\d+)?\s*[a-z]+\s*)+", text) or any(u not in _UNITS for _, u in parts):
        raise ValueError(f"invalid duration {value!r} (use e.g. 30s, 10m, 2h, 1d)")
    return float(sum(float(n) * _UNITS[u] for n, u in parts))


def parse_size(value: str | int) -> int:
    """`10MB` (decimal), `512KB`, `1GB`, `64KiB`, `2MiB`, `2000` or an int -> bytes."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"invalid size {value!r} (use e.g. 512KB, 10MB, 1GB)")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"invalid size {value!r}: must not be negative")
        return value
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value.strip().lower())
    if not m or m.group(2) not in _SIZES:
        raise ValueError(f"invalid size {value!r} (use e.g. 512KB, 10MB, 1GB)")
    return int(round(float(m.group(1)) * _SIZES[m.group(2)]))


# ---------------------------------------------------------------- problem collection

class Ctx:
    """One file being validated: its problems, notes, environment and unset variables seen."""

    def __init__(self, path: PathLike, env: Env):
        self.path = os.fspath(path)
        self.env = env
        self.problems: list[tuple[int, str]] = []
        self.notes: list[tuple[int, str]] = []
        self.unset: list[tuple[str, int]] = []  # (variable, line) since last reset
        self.text: str | None = None  # the file's text as read and parsed

    def err(self, line: int, msg: str) -> None:
        self.problems.append((line, msg))

    def lines(self, items: list[tuple[int, str]], prefix: str = "") -> list[str]:
        return [f"{self.path}:{n}: {prefix}{m}" if n else f"{self.path}: {prefix}{m}"
                for n, m in sorted(items, key=lambda p: p[0])]

    def subst(self, text: str, line: int) -> str:
        def repl(m: re.Match[str]) -> str:
            val = self.env.get(m.group(1))
            if not val:
                self.unset.append((m.group(1), line))
                return m.group(0)
            if envcheck.quoted(val):  # docker --env-file keeps quotes: `""` is not empty (envcheck.py)
                self.err(line, f"environment variable {m.group(1)} arrives wrapped in quotes ({val.strip()[:1]}…"
                               f"{val.strip()[-1:]}): write {m.group(1)}=value without quotes in the environment file")
                return m.group(0)
            return val
        return VAR.sub(repl, text)

    def flush_unset(self) -> None:
        for name, line in self.unset:
            self.err(line, f"environment variable {name} is not set")
        self.unset = []


def key_line(m: Any, key: Any, default: int) -> int:
    try:
        return m.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return default


def item_line(seq: Any, i: int, default: int) -> int:
    try:
        return seq.lc.item(i)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return default


def suggest(word: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(allowed), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_keys(ctx: Ctx, m: Mapping, allowed: Iterable[str], line: int, what: str = "key") -> None:
    for k in m:
        if k not in allowed:
            ctx.err(key_line(m, k, line), f"unknown {what} '{k}'{suggest(str(k), allowed)}")


@functools.lru_cache(maxsize=2)
def _parse(text: str) -> Any:
    """The round-trip tree of `text`, kept for the next load of the same text (a reload after an edit
    of the other file skips a second parse of a large sources.yaml). Shared: read it, never change it."""
    return YAML(typ="rt").load(text)


def read_yaml(ctx: Ctx, top_keys: tuple[str, ...], main: str) -> Any:
    """The file's top-level mapping, or None when a problem was recorded."""
    try:
        raw = Path(ctx.path).read_bytes()
    except FileNotFoundError:
        return ctx.err(0, "file not found")
    except OSError as e:
        return ctx.err(0, f"cannot read: {e.strerror or e}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return ctx.err(raw.count(b"\n", 0, e.start) + 1, "not valid UTF-8 text")
    ctx.text = text
    bomb = alias_problem(text)  # before the tree is built and walked (see yamlsafe.py)
    if bomb is not None:
        return ctx.err(*bomb)
    try:
        data = _parse(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        reason = e.problem or e.context or "invalid YAML"
        if e.context_mark and "<stream end>" in reason:  # an unclosed [ or { : point at where it opened
            mark, reason = e.context_mark, f"{e.context or 'unclosed collection'}: never closed"
        elif e.context_mark and "quoted scalar" in (e.context or ""):  # and so for an unclosed quote
            mark, reason = e.context_mark, "a quote opened here is never closed: end the value with the same quote"
        dup = re.match(r'found duplicate key "(.*?)" with value', reason)
        if dup:
            reason = f"duplicate key '{dup.group(1)}'"
        else:  # in plain words (watcher/config/yamlwords.py)
            reason = yamlwords.plain(reason, e.context, e.context_mark.line + 1 if e.context_mark else None)
        return ctx.err(mark.line + 1 if mark else 1, reason)
    except YAMLError as e:
        return ctx.err(1, str(e).strip().splitlines()[0] if str(e).strip() else "invalid YAML")
    if data is None:
        return ctx.err(1, f"file is empty (expected a '{main}:' list)")
    if not isinstance(data, Mapping):
        return ctx.err(1, f"expected a mapping with a '{main}:' list at the top level")
    for line, message in yamlwords.swallowed(data, text):  # `channel: #tp-dx` left the key empty
        ctx.err(line, message)
    anchors = tuple(k for k in data if str(k).startswith("x-"))  # room for YAML anchors, as in compose files
    check_keys(ctx, data, top_keys + anchors, 1)
    return data


# ---------------------------------------------------------------- typed getters
# Each returns None when the key is absent or null, or when the value is invalid (error recorded).

def get_str(ctx: Ctx, m: Mapping, key: str, line: int) -> str | None:
    val = m.get(key)
    if val is None:
        return None
    n = key_line(m, key, line)
    if not isinstance(val, str):
        return ctx.err(n, f"'{key}' must be a string")
    val = ctx.subst(val.strip(), n)
    return val if val else ctx.err(n, f"'{key}' must not be empty")


def get_str_list(ctx: Ctx, m: Mapping, key: str, line: int) -> tuple[str, ...] | None:
    seq = m.get(key)
    if seq is None:
        return None
    if not isinstance(seq, list):
        return ctx.err(key_line(m, key, line), f"'{key}' must be a list of strings")
    return str_items(ctx, seq, key, key_line(m, key, line))


def str_items(ctx: Ctx, seq: list, key: str, line: int) -> tuple[str, ...] | None:
    out, ok = [], True
    for i, item in enumerate(seq):
        il = item_line(seq, i, line)
        if not isinstance(item, str):
            ctx.err(il, f"'{key}' must be a list of strings, got {item!r} (quote it)")
            ok = False
        elif not item.strip():
            ctx.err(il, f"'{key}' has an empty entry")
            ok = False
        else:
            out.append(ctx.subst(item.strip(), il))
    return tuple(out) if ok else None


def get_str_map(ctx: Ctx, m: Mapping, key: str, line: int) -> dict[str, str] | None:
    val = m.get(key)
    if val is None:
        return None
    n = key_line(m, key, line)
    if not isinstance(val, Mapping):
        return ctx.err(n, f"'{key}' must be a mapping of names to strings")
    out: dict[str, str] = {}
    for k, v in val.items():
        kl = key_line(val, k, n)
        if not isinstance(k, str) or not isinstance(v, str) or not v.strip():
            ctx.err(kl, f"'{key}.{k}' must be a non-empty string")
        else:
            out[k.strip()] = ctx.subst(v.strip(), kl)
    return out


def _number(ctx: Ctx, m: Mapping, key: str, line: int, parse: Any, minimum: float, what: str) -> Any:
    val = m.get(key)
    if val is None:
        return None
    n = key_line(m, key, line)
    if isinstance(val, str):
        val = ctx.subst(val, n)
    try:
        out = parse(val)
    except UnitMissing as e:
        return ctx.err(n, f"{key}: {e}")
    except ValueError as e:
        return ctx.err(n, f"'{key}': {e}")
    if out < minimum:
        return ctx.err(n, f"'{key}' must be {what}")
    return out


def get_duration(ctx: Ctx, m: Mapping, key: str, line: int, minimum: float = 1e-9,
              what: str = "greater than 0") -> float | None:
    return _number(ctx, m, key, line, parse_duration, minimum, what)


def get_size(ctx: Ctx, m: Mapping, key: str, line: int) -> int | None:
    return _number(ctx, m, key, line, parse_size, 1, "greater than 0")


def get_mapping(ctx: Ctx, m: Mapping, key: str, line: int) -> Mapping | None:
    val = m.get(key)
    if val is None or isinstance(val, Mapping):
        return val
    return ctx.err(key_line(m, key, line), f"'{key}' must be a mapping")


def get_items(ctx: Ctx, m: Mapping, key: str, line: int, required: bool = True) -> list | None:
    val = m.get(key)
    if val is None:
        return ctx.err(line, f"missing '{key}' list") if required else None
    if not isinstance(val, list):
        return ctx.err(key_line(m, key, line), f"'{key}' must be a list")
    return val
