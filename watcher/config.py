"""Load and validate sources.yaml and rules.yaml into the typed objects of watcher.models.

Every problem of both files is collected and reported at once, one `FILE:LINE: message` each
(FILE as the user gave it, LINE 1-based, pointing at the offending key or list item).
`${NAME}` in any string value is replaced by the environment variable NAME; an unset (or empty)
variable is an error, except inside a source with `enabled: auto` (then the source is disabled
and `check` notes why) or `enabled: false`. Unset variables stay as `${NAME}` in the text.
"""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from watcher.errors import ConfigError
from watcher.models import Config, Rule, RuleSet, Source

Env = Mapping[str, str]
PathLike = str | os.PathLike[str]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ID = re.compile(r"[a-z0-9_-]+")
_UNITS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "mins": 60,
          "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
          "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}
_SIZES = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}

_SOURCE_KEYS = ("id", "name", "url", "kind", "enabled", "tags", "fields", "items", "headers",
                "encoding", "alert_after", "paging", "interval", "timeout", "max_bytes")
_SOURCE_DEFAULT_KEYS = ("interval", "timeout", "max_bytes", "alert_after", "headers")
_ANN_FIELDS = ("id", "title", "link", "published", "summary", "period", "agency", "deadline", "link_template")
_PAGING_KEYS = ("page", "size", "total", "order", "max_pages")
_RULE_KEYS = ("name", "any", "all", "none", "fields", "sources", "channel", "mention")
_RULE_DEFAULT_KEYS = ("channel", "fields", "max_age", "digest_over", "ops_channel")
_MATCH_FIELDS = ("title", "summary", "agency", "link")
_SRC_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Source)}
_RULE_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Rule)}
_SET_DEFAULTS = {f.name: f.default for f in dataclasses.fields(RuleSet)}


# ---------------------------------------------------------------- durations and sizes

def parse_duration(value: str | int | float) -> float:
    """`30s`, `10m`, `2h`, `1d`, `1h30m` or a number of seconds -> seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"invalid duration {value!r} (use e.g. 30s, 10m, 2h, 1d)")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"invalid duration {value!r}: must not be negative")
        return float(value)
    text = value.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
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


def config_fingerprint(sources_path: PathLike, rules_path: PathLike) -> tuple:
    """(mtime_ns, size) of both files, None for a missing one; compare to detect edits."""
    out: list[int | None] = []
    for path in (sources_path, rules_path):
        try:
            st = os.stat(path)
            out += [st.st_mtime_ns, st.st_size]
        except OSError:
            out += [None, None]
    return tuple(out)


# ---------------------------------------------------------------- problem collection

class _Ctx:
    """One file being validated: its problems, notes, environment and unset variables seen."""

    def __init__(self, path: PathLike, env: Env):
        self.path = os.fspath(path)
        self.env = env
        self.problems: list[tuple[int, str]] = []
        self.notes: list[tuple[int, str]] = []
        self.unset: list[tuple[str, int]] = []  # (variable, line) since last reset

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
            return val
        return _VAR.sub(repl, text)

    def flush_unset(self) -> None:
        for name, line in self.unset:
            self.err(line, f"environment variable {name} is not set")
        self.unset = []


def _kline(m: Any, key: Any, default: int) -> int:
    try:
        return m.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return default


def _iline(seq: Any, i: int, default: int) -> int:
    try:
        return seq.lc.item(i)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return default


def _suggest(word: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(allowed), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_keys(ctx: _Ctx, m: Mapping, allowed: Iterable[str], line: int, what: str = "key") -> None:
    for k in m:
        if k not in allowed:
            ctx.err(_kline(m, k, line), f"unknown {what} '{k}'{_suggest(str(k), allowed)}")


def _read_yaml(ctx: _Ctx, top_keys: tuple[str, ...], main: str) -> Any:
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
    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        reason = e.problem or e.context or "invalid YAML"
        if e.context_mark and "<stream end>" in reason:  # an unclosed [ or { : point at where it opened
            mark, reason = e.context_mark, f"{e.context or 'unclosed collection'}: never closed"
        dup = re.match(r'found duplicate key "(.*?)" with value', reason)
        if dup:
            reason = f"duplicate key '{dup.group(1)}'"
        elif e.context and e.context_mark and e.problem_mark and e.context_mark.line != mark.line \
                and mark is e.problem_mark:
            reason += f" ({e.context} at line {e.context_mark.line + 1})"
        return ctx.err(mark.line + 1 if mark else 1, reason)
    except YAMLError as e:
        return ctx.err(1, str(e).strip().splitlines()[0] if str(e).strip() else "invalid YAML")
    if data is None:
        return ctx.err(1, f"file is empty (expected a '{main}:' list)")
    if not isinstance(data, Mapping):
        return ctx.err(1, f"expected a mapping with a '{main}:' list at the top level")
    anchors = tuple(k for k in data if str(k).startswith("x-"))  # room for YAML anchors, as in compose files
    _check_keys(ctx, data, top_keys + anchors, 1)
    return data


# ---------------------------------------------------------------- typed getters
# Each returns None when the key is absent or null, or when the value is invalid (error recorded).

def _str(ctx: _Ctx, m: Mapping, key: str, line: int) -> str | None:
    val = m.get(key)
    if val is None:
        return None
    n = _kline(m, key, line)
    if not isinstance(val, str):
        return ctx.err(n, f"'{key}' must be a string")
    val = ctx.subst(val.strip(), n)
    return val if val else ctx.err(n, f"'{key}' must not be empty")


def _str_list(ctx: _Ctx, m: Mapping, key: str, line: int) -> tuple[str, ...] | None:
    seq = m.get(key)
    if seq is None:
        return None
    if not isinstance(seq, list):
        return ctx.err(_kline(m, key, line), f"'{key}' must be a list of strings")
    return _str_items(ctx, seq, key, _kline(m, key, line))


def _str_items(ctx: _Ctx, seq: list, key: str, line: int) -> tuple[str, ...] | None:
    out, ok = [], True
    for i, item in enumerate(seq):
        il = _iline(seq, i, line)
        if not isinstance(item, str):
            ctx.err(il, f"'{key}' must be a list of strings, got {item!r} (quote it)")
            ok = False
        elif not item.strip():
            ctx.err(il, f"'{key}' has an empty entry")
            ok = False
        else:
            out.append(ctx.subst(item.strip(), il))
    return tuple(out) if ok else None


def _str_map(ctx: _Ctx, m: Mapping, key: str, line: int) -> dict[str, str] | None:
    val = m.get(key)
    if val is None:
        return None
    n = _kline(m, key, line)
    if not isinstance(val, Mapping):
        return ctx.err(n, f"'{key}' must be a mapping of names to strings")
    out: dict[str, str] = {}
    for k, v in val.items():
        kl = _kline(val, k, n)
        if not isinstance(k, str) or not isinstance(v, str) or not v.strip():
            ctx.err(kl, f"'{key}.{k}' must be a non-empty string")
        else:
            out[k.strip()] = ctx.subst(v.strip(), kl)
    return out


def _number(ctx: _Ctx, m: Mapping, key: str, line: int, parse: Any, minimum: float, what: str) -> Any:
    val = m.get(key)
    if val is None:
        return None
    n = _kline(m, key, line)
    if isinstance(val, str):
        val = ctx.subst(val, n)
    try:
        out = parse(val)
    except ValueError as e:
        return ctx.err(n, f"'{key}': {e}")
    if out < minimum:
        return ctx.err(n, f"'{key}' must be {what}")
    return out


def _duration(ctx: _Ctx, m: Mapping, key: str, line: int, minimum: float = 1e-9,
              what: str = "greater than 0") -> float | None:
    return _number(ctx, m, key, line, parse_duration, minimum, what)


def _size(ctx: _Ctx, m: Mapping, key: str, line: int) -> int | None:
    return _number(ctx, m, key, line, parse_size, 1, "greater than 0")


def _mapping(ctx: _Ctx, m: Mapping, key: str, line: int) -> Mapping | None:
    val = m.get(key)
    if val is None or isinstance(val, Mapping):
        return val
    return ctx.err(_kline(m, key, line), f"'{key}' must be a mapping")


def _items(ctx: _Ctx, m: Mapping, key: str, line: int, required: bool = True) -> list | None:
    val = m.get(key)
    if val is None:
        return ctx.err(line, f"missing '{key}' list") if required else None
    if not isinstance(val, list):
        return ctx.err(_kline(m, key, line), f"'{key}' must be a list")
    return val


def _selector_error(sel: str) -> str | None:
    try:
        import soupsieve
    except ImportError:  # pragma: no cover - bs4 brings soupsieve
        return None
    try:
        soupsieve.compile(sel)
    except Exception as e:  # SelectorSyntaxError; message spans lines
        return str(e).splitlines()[0]
    return None


# ---------------------------------------------------------------- sources.yaml

def _source_defaults(ctx: _Ctx, data: Mapping) -> dict[str, Any]:
    out = {k: _SRC_DEFAULTS[k] for k in ("interval", "timeout", "max_bytes", "alert_after")}
    out["headers"] = {}
    d = _mapping(ctx, data, "defaults", 1)
    if d:
        line = _kline(data, "defaults", 1)
        _check_keys(ctx, d, _SOURCE_DEFAULT_KEYS, line)
        given = _source_settings(ctx, d, line)
        out.update({k: v for k, v in given.items() if v is not None})
        ctx.flush_unset()
    return out


def _source_settings(ctx: _Ctx, m: Mapping, line: int) -> dict[str, Any]:
    return {"interval": _duration(ctx, m, "interval", line, 1, "at least 1s"),
            "timeout": _duration(ctx, m, "timeout", line),
            "max_bytes": _size(ctx, m, "max_bytes", line),
            "alert_after": _duration(ctx, m, "alert_after", line, 0, "0 or more"),
            "headers": _str_map(ctx, m, "headers", line)}


def _enabled(ctx: _Ctx, m: Mapping, line: int) -> bool | str:
    val = m.get("enabled", True)
    if isinstance(val, str) and val.strip().lower() in ("true", "false", "auto"):
        val = {"true": True, "false": False}.get(val.strip().lower(), "auto")
    if val is None:
        return True
    if isinstance(val, bool) or val == "auto":
        return val
    ctx.err(_kline(m, "enabled", line), "'enabled' must be true, false or auto")
    return True


def _paging(ctx: _Ctx, m: Mapping, line: int, kind: str) -> dict[str, Any] | None:
    p = _mapping(ctx, m, "paging", line)
    if p is None:
        return None
    n = _kline(m, "paging", line)
    if kind != "json":
        return ctx.err(n, "'paging' is only for kind json")
    _check_keys(ctx, p, _PAGING_KEYS, n)
    out: dict[str, Any] = {"order": "newest-first", "max_pages": 5}
    for k in ("page", "size", "total", "order"):
        v = _str(ctx, p, k, n)
        if v is not None:
            out[k] = v
    if "page" not in out and p.get("page") is None:
        ctx.err(n, "'paging' needs 'page' (the page-number parameter)")
    if out["order"] not in ("newest-first", "oldest-first"):
        ctx.err(_kline(p, "order", n), "'order' must be newest-first or oldest-first")
    mp = p.get("max_pages")
    if mp is not None:
        if isinstance(mp, bool) or not isinstance(mp, int) or mp < 1:
            ctx.err(_kline(p, "max_pages", n), "'max_pages' must be an integer of 1 or more")
        else:
            out["max_pages"] = int(mp)
    return out


def _source(ctx: _Ctx, m: Mapping, line: int, defaults: dict[str, Any], seen: dict[str, int]) -> Source | None:
    _check_keys(ctx, m, _SOURCE_KEYS, line)
    ctx.unset = []
    nbefore = len(ctx.problems)
    sid = _str(ctx, m, "id", line)
    if m.get("id") is None:
        ctx.err(line, "source needs an 'id'")
    elif sid is not None:
        if not _ID.fullmatch(sid):
            ctx.err(_kline(m, "id", line), f"source id '{sid}' must match [a-z0-9_-]+")
        elif sid in seen:
            ctx.err(_kline(m, "id", line), f"duplicate source id '{sid}' (first at line {seen[sid]})")
        else:
            seen[sid] = line
    label = f"source '{sid or '?'}'"
    enabled = _enabled(ctx, m, line)
    kind = _str(ctx, m, "kind", line) or "feed"
    if kind not in ("feed", "json", "html"):
        ctx.err(_kline(m, "kind", line), f"unknown kind '{kind}' (use feed, json or html)"
                f"{_suggest(kind, ('feed', 'json', 'html'))}")
        kind = "feed"
    url = _str(ctx, m, "url", line)
    if url is None and m.get("url") is None:
        ctx.err(line, f"{label} needs a 'url'")
    elif url is not None:
        parts = urlsplit(url)
        skip = _VAR.search(url) and enabled is not True  # unset key of a disabled source
        if not skip and (parts.scheme not in ("http", "https") or not parts.netloc):
            ctx.err(_kline(m, "url", line), f"'url' must be an http(s) URL, got '{m['url'].strip()}'")
    name = _str(ctx, m, "name", line)
    tags = _str_list(ctx, m, "tags", line) or ()
    fields = _fields(ctx, m, line, kind)
    items = _str(ctx, m, "items", line)
    il = _kline(m, "items", line)
    if kind == "feed" and items is not None:
        ctx.err(il, "'items' is only for kind json or html")
    elif kind != "feed" and items is None and m.get("items") is None:
        ctx.err(line, f"{label}: 'items' is required for kind {kind}")
    elif kind == "json" and items is not None and "" in items.split("."):
        ctx.err(il, f"'items' must be a dotted path like response.body.items, got '{items}'")
    elif kind == "html" and items is not None and (why := _selector_error(items)):
        ctx.err(il, f"'items' is not a valid CSS selector: {why}")
    if kind != "feed" and "title" not in fields:
        ctx.err(_kline(m, "fields", line), f"{label}: fields.title is required for kind {kind}")
    encoding = _str(ctx, m, "encoding", line)
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            ctx.err(_kline(m, "encoding", line), f"unknown encoding '{encoding}'")
    settings = _source_settings(ctx, m, line)
    headers = dict(defaults["headers"])
    for k, v in (settings.pop("headers") or {}).items():
        headers = {hk: hv for hk, hv in headers.items() if hk.lower() != k.lower()}
        headers[k] = v
    paging = _paging(ctx, m, line, kind)
    missing = tuple(dict.fromkeys(var for var, _ in ctx.unset))
    if enabled is True:
        ctx.flush_unset()
    elif missing and enabled == "auto":
        what = " and ".join(missing) + (" is" if len(missing) == 1 else " are")
        ctx.notes.append((line, f"{label} is disabled until {what} set"))
    ctx.unset = []
    if sid is None or len(ctx.problems) > nbefore:
        return None
    return Source(id=sid, url=url or "", name=name or sid, kind=kind,  # type: ignore[arg-type]
                  enabled=enabled is True or (enabled == "auto" and not missing), tags=tags,
                  items=items, fields=fields, headers=headers, encoding=encoding, paging=paging,
                  env_missing=missing, line=line,
                  **{k: defaults[k] if v is None else v for k, v in settings.items()})


def _fields(ctx: _Ctx, m: Mapping, line: int, kind: str) -> dict[str, str]:
    f = _mapping(ctx, m, "fields", line)
    if not f:
        return {}
    n = _kline(m, "fields", line)
    _check_keys(ctx, f, _ANN_FIELDS, n, "field")
    out: dict[str, str] = {}
    for k in f:
        if k not in _ANN_FIELDS:
            continue
        v = _str(ctx, f, k, n)
        if v is None:
            if f.get(k) is None:
                ctx.err(_kline(f, k, n), f"'{k}' must not be empty")
            continue
        sel, _, attr = v.rpartition("@")
        sel = sel if sel and re.fullmatch(r"[\w:-]+", attr) else v
        if kind == "html" and k != "link_template" and sel and (why := _selector_error(sel)):
            ctx.err(_kline(f, k, n), f"fields.{k} is not a valid CSS selector: {why}")
        out[k] = v
    return out


def _parse_sources(ctx: _Ctx) -> tuple[tuple[Source, ...], set[str] | None]:
    """Sources that validated, and every id seen (None when the file could not be read)."""
    data = _read_yaml(ctx, ("defaults", "sources"), "sources")
    if data is None:
        return (), None
    defaults = _source_defaults(ctx, data)
    seq = _items(ctx, data, "sources", 1)
    out: list[Source] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(seq or []):
        line = _iline(seq, i, 1)
        if not isinstance(item, Mapping):
            ctx.err(line, "each source must be a mapping with 'id' and 'url'")
            continue
        src = _source(ctx, item, line, defaults, seen)
        if src:
            out.append(src)
    return tuple(out), set(seen)


# ---------------------------------------------------------------- rules.yaml

def _keywords(ctx: _Ctx, m: Mapping, key: str, line: int) -> tuple[str, ...]:
    words = _str_list(ctx, m, key, line) or ()
    seq = m.get(key)
    for i, w in enumerate(words):
        if w.startswith("re:"):
            il = _iline(seq, i, line)
            if not w[3:]:
                ctx.err(il, f"'{key}' has an empty regular expression 're:'")
                continue
            try:
                re.compile(w[3:])
            except re.error as e:
                ctx.err(il, f"bad regular expression '{w}': {e}")
    return words


def _match_fields(ctx: _Ctx, m: Mapping, line: int) -> tuple[str, ...] | None:
    fields = _str_list(ctx, m, "fields", line)
    if fields is None:
        return None
    n = _kline(m, "fields", line)
    if not fields:
        return ctx.err(n, "'fields' must not be empty")
    ok = True
    for i, f in enumerate(fields):
        if f not in _MATCH_FIELDS:
            ok = False
            ctx.err(_iline(m["fields"], i, n),
                    f"unknown field '{f}'{_suggest(f, _MATCH_FIELDS)} (use {', '.join(_MATCH_FIELDS)})")
    return fields if ok else None


def _rule(ctx: _Ctx, m: Mapping, line: int, d: dict[str, Any], source_ids: set[str] | None,
          seen: dict[str, int]) -> Rule | None:
    _check_keys(ctx, m, _RULE_KEYS, line)
    nbefore = len(ctx.problems)
    name = _str(ctx, m, "name", line)
    if name is None and m.get("name") is None:
        ctx.err(line, "rule needs a 'name'")
    elif name is not None:
        if name in seen:
            ctx.err(_kline(m, "name", line), f"duplicate rule name '{name}' (first at line {seen[name]})")
        seen.setdefault(name, line)
    before = len(ctx.problems)
    any_, all_, none = (_keywords(ctx, m, k, line) for k in ("any", "all", "none"))
    if not any_ and not all_ and len(ctx.problems) == before:
        empty = m.get("any") is not None or m.get("all") is not None  # given as []
        ctx.err(line, f"rule '{name or '?'}' needs 'any' or 'all'{' with at least one keyword' if empty else ''}")
    fields = _match_fields(ctx, m, line)
    sources = _str_list(ctx, m, "sources", line)
    if sources is not None:
        n = _kline(m, "sources", line)
        if not sources:
            ctx.err(n, "'sources' must list at least one source id (leave it out for every source)")
        for i, s in enumerate(sources):
            if source_ids is not None and s not in source_ids:
                ctx.err(_iline(m["sources"], i, n), f"unknown source '{s}'{_suggest(s, sorted(source_ids))}")
    channel = _str(ctx, m, "channel", line)
    mention = _str(ctx, m, "mention", line)
    ctx.flush_unset()
    if name is None or len(ctx.problems) > nbefore:
        return None
    return Rule(name=name, any=any_, all=all_, none=none, fields=fields or d["fields"],
                sources=sources, channel=channel or d["channel"], mention=mention, line=line)


def _rule_defaults(ctx: _Ctx, data: Mapping) -> dict[str, Any]:
    out = {"channel": _RULE_DEFAULTS["channel"], "fields": _RULE_DEFAULTS["fields"],
           "max_age": _SET_DEFAULTS["max_age"], "digest_over": _SET_DEFAULTS["digest_over"],
           "ops_channel": _SET_DEFAULTS["ops_channel"]}
    d = _mapping(ctx, data, "defaults", 1)
    if not d:
        return out
    line = _kline(data, "defaults", 1)
    _check_keys(ctx, d, _RULE_DEFAULT_KEYS, line)
    given = {"channel": _str(ctx, d, "channel", line), "fields": _match_fields(ctx, d, line),
             "max_age": _duration(ctx, d, "max_age", line),
             "ops_channel": _str(ctx, d, "ops_channel", line)}
    dig = d.get("digest_over")
    if dig is not None:
        if isinstance(dig, bool) or not isinstance(dig, int) or dig < 0:
            ctx.err(_kline(d, "digest_over", line), "'digest_over' must be an integer of 0 or more")
        else:
            given["digest_over"] = int(dig)
    ctx.flush_unset()
    out.update({k: v for k, v in given.items() if v is not None})
    return out


def _synonyms(ctx: _Ctx, data: Mapping) -> tuple[tuple[str, ...], ...]:
    seq = _items(ctx, data, "synonyms", 1, required=False) or []
    out = []
    for i, group in enumerate(seq):
        line = _iline(seq, i, 1)
        if not isinstance(group, list):
            ctx.err(line, "each synonym group must be a list of strings, e.g. [강소특구, 강소연구개발특구]")
            continue
        words = _str_items(ctx, group, "synonyms", line)
        if words is not None and len(words) < 2:
            ctx.err(line, "a synonym group needs at least 2 words")
        elif words is not None:
            out.append(words)
    ctx.flush_unset()
    return tuple(out)


def _parse_rules(ctx: _Ctx, source_ids: set[str] | None) -> RuleSet | None:
    data = _read_yaml(ctx, ("defaults", "synonyms", "rules"), "rules")
    if data is None:
        return None
    d = _rule_defaults(ctx, data)
    synonyms = _synonyms(ctx, data)
    seq = _items(ctx, data, "rules", 1)
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(seq or []):
        line = _iline(seq, i, 1)
        if not isinstance(item, Mapping):
            ctx.err(line, "each rule must be a mapping with 'name' and 'any' or 'all'")
            continue
        rule = _rule(ctx, item, line, d, source_ids, seen)
        if rule:
            rules.append(rule)
    return RuleSet(rules=tuple(rules), synonyms=synonyms, max_age=d["max_age"],
                   digest_over=d["digest_over"], ops_channel=d["ops_channel"])


# ---------------------------------------------------------------- public API

def check(sources_path: PathLike, rules_path: PathLike,
          env: Env = os.environ) -> tuple[Config | None, list[str], list[str]]:
    """(config or None, problems, notes) for `watcher check`; every problem of both files."""
    sctx, rctx = _Ctx(sources_path, env), _Ctx(rules_path, env)
    sources, ids = _parse_sources(sctx)
    ruleset = _parse_rules(rctx, ids)
    problems = sctx.lines(sctx.problems) + rctx.lines(rctx.problems)
    notes = sctx.lines(sctx.notes, "note: ") + rctx.lines(rctx.notes, "note: ")
    if problems or ruleset is None:
        return None, problems, notes
    config = Config(sources=sources, rules=ruleset, sources_path=sctx.path, rules_path=rctx.path)
    return config, problems, notes


def load_config(sources_path: PathLike, rules_path: PathLike, env: Env = os.environ) -> Config:
    """Both files validated together; raises ConfigError holding every problem."""
    config, problems, _ = check(sources_path, rules_path, env)
    if config is None:
        raise ConfigError(problems)
    return config


def load_sources(path: PathLike, env: Env = os.environ) -> tuple[Source, ...]:
    ctx = _Ctx(path, env)
    sources, _ = _parse_sources(ctx)
    if ctx.problems:
        raise ConfigError(ctx.lines(ctx.problems))
    return sources


def load_rules(path: PathLike, source_ids: Iterable[str] | None = None, env: Env = os.environ) -> RuleSet:
    """rules.yaml alone; source_ids=None skips the check that rules name known sources."""
    ctx = _Ctx(path, env)
    ruleset = _parse_rules(ctx, None if source_ids is None else set(source_ids))
    if ctx.problems or ruleset is None:
        raise ConfigError(ctx.lines(ctx.problems))
    return ruleset
