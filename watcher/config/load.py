"""Load and validate sources.yaml and rules.yaml into the typed objects of watcher.models.

Every problem of both files is collected and reported at once, one `FILE:LINE: message` each
(FILE as the user gave it, LINE 1-based, pointing at the offending key or list item).
`${NAME}` in any string value is replaced by the environment variable NAME; an unset (or empty)
variable is an error, except inside a source with `enabled: auto` (then the source is disabled
and `check` notes why) or `enabled: false`. Unset variables stay as `${NAME}` in the text.
This module holds what the two files mean; reading YAML with line numbers and the generic
checks of one value live in watcher.yamlcheck.
"""

from __future__ import annotations

import codecs
import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from watcher.config.boardkeys import BOARD_KEYS, board_settings
from watcher.config.boardkeys import BODY_KEYS as _BODY_KEYS  # noqa: F401  (documented: docs/CONFIG.md)
from watcher.config.boardkeys import ID_BASE64_KEYS as _ID_BASE_KEYS  # noqa: F401  (documented too)
from watcher.config.detail import _API_FILE_KEYS, _DETAIL_KEYS, detail_config
from watcher.config.include import with_included
from watcher.config.synonyms import GROUP_KEYS, parse_synonyms
from watcher.config.yamlcheck import (
    VAR,
    Ctx,
    Env,
    PathLike,
    check_keys,
    get_duration,
    get_items,
    get_mapping,
    get_size,
    get_str,
    get_str_list,
    get_str_map,
    item_line,
    key_line,
    parse_duration,
    parse_size,
    read_yaml,
    str_items,
    suggest,
)
from watcher.errors import ConfigError
from watcher.match.matcher import keyword_problem
from watcher.models import Config, Rule, RuleSet, Source
from watcher.parse.category import expand as expand_category

__all__ = ["_API_FILE_KEYS", "_DETAIL_KEYS", "check", "config_fingerprint", "load_config", "load_rules", "load_sources",
           "parse_duration", "parse_size"]

_ID = re.compile(r"[a-z0-9_-]+")
# The keys each part of the two files accepts (docs/CONFIG.md documents each table; a test compares).
_SOURCES_FILE_KEYS = ("defaults", "include", "sources")
_RULES_FILE_KEYS = ("defaults", "synonyms", "rules")
_SOURCE_KEYS = ("id", "name", "url", "kind", "enabled", "tags", "fields", "items", "headers",
                "encoding", "alert_after", "paging", "interval", "timeout", "max_bytes", "stale_after", *BOARD_KEYS,
                "detail")
_SOURCE_DEFAULT_KEYS = ("interval", "timeout", "max_bytes", "alert_after", "stale_after", "headers")
_ANN_FIELDS = ("id", "title", "link", "published", "summary", "period", "agency", "deadline", "link_template",
               "category")
_PAGING_KEYS = ("page", "size", "total", "order", "max_pages")
_RULE_KEYS = ("name", "label", "any", "all", "none", "fields", "sources", "channel", "mention", "remind",
              "summary_at")
_RULE_DEFAULT_KEYS = ("channel", "fields", "max_age", "digest_over", "ops_channel", "remind", "summary_at",
                      "public_url")
_MATCH_FIELDS = ("title", "summary", "agency", "link", "category", "body", "attachments")
_SYNONYM_GROUP_KEYS = GROUP_KEYS  # a named synonym group: {name: ..., words: [...]} (config/synonyms.py)
_SRC_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Source)}
_RULE_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Rule)}
_SET_DEFAULTS = {f.name: f.default for f in dataclasses.fields(RuleSet)}


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

def _selector_error(sel: str) -> str | None:
    try:
        import soupsieve
    except ImportError:  # pragma: no cover - bs4 brings soupsieve
        return None
    for alternative in sel.split("||"):  # `a || b`: b where a matches nothing (watcher/parse/html.py)
        try:
            soupsieve.compile(re.sub(r"@[\w:-]+\s*$", "", alternative.strip()) or "*")
        except Exception as e:  # SelectorSyntaxError; message spans lines
            return str(e).splitlines()[0]
    return None


# ---------------------------------------------------------------- sources.yaml

def _source_defaults(ctx: Ctx, data: Mapping) -> dict[str, Any]:
    out = {k: _SRC_DEFAULTS[k] for k in ("interval", "timeout", "max_bytes", "alert_after", "stale_after")}
    out["headers"] = {}
    d = get_mapping(ctx, data, "defaults", 1)
    if d:
        line = key_line(data, "defaults", 1)
        check_keys(ctx, d, _SOURCE_DEFAULT_KEYS, line)
        given = _source_settings(ctx, d, line)
        out.update({k: v for k, v in given.items() if v is not None})
        ctx.flush_unset()
    return out


def _source_settings(ctx: Ctx, m: Mapping, line: int) -> dict[str, Any]:
    return {"interval": get_duration(ctx, m, "interval", line, 60,
                                     "at least 1m (a source is polled at most once a minute)"),
            "timeout": get_duration(ctx, m, "timeout", line),
            "max_bytes": get_size(ctx, m, "max_bytes", line),
            "alert_after": get_duration(ctx, m, "alert_after", line, 0, "0 or more"),
            "stale_after": get_duration(ctx, m, "stale_after", line),
            "headers": get_str_map(ctx, m, "headers", line)}


def _enabled(ctx: Ctx, m: Mapping, line: int) -> bool | str:
    val = m.get("enabled", True)
    if isinstance(val, str) and val.strip().lower() in ("true", "false", "auto"):
        val = {"true": True, "false": False}.get(val.strip().lower(), "auto")
    if val is None:
        return True
    if isinstance(val, bool) or val == "auto":
        return val
    ctx.err(key_line(m, "enabled", line), "'enabled' must be true, false or auto")
    return True


def _paging(ctx: Ctx, m: Mapping, line: int, kind: str) -> dict[str, Any] | None:
    p = get_mapping(ctx, m, "paging", line)
    if p is None:
        return None
    n = key_line(m, "paging", line)
    if kind != "json":
        return ctx.err(n, "'paging' is only for kind json")
    check_keys(ctx, p, _PAGING_KEYS, n)
    out: dict[str, Any] = {"order": "newest-first", "max_pages": 5}
    for k in ("page", "size", "total", "order"):
        v = get_str(ctx, p, k, n)
        if v is not None:
            out[k] = v
    if "page" not in out and p.get("page") is None:
        ctx.err(n, "'paging' needs 'page' (the page-number parameter)")
    if out["order"] not in ("newest-first", "oldest-first"):
        ctx.err(key_line(p, "order", n), "'order' must be newest-first or oldest-first")
    mp = p.get("max_pages")
    if mp is not None:
        if isinstance(mp, bool) or not isinstance(mp, int) or mp < 1:
            ctx.err(key_line(p, "max_pages", n), "'max_pages' must be an integer of 1 or more")
        else:
            out["max_pages"] = int(mp)
    return out


def _source(ctx: Ctx, m: Mapping, line: int, defaults: dict[str, Any], seen: dict[str, int]) -> Source | None:
    check_keys(ctx, m, _SOURCE_KEYS, line)
    ctx.unset = []
    nbefore = len(ctx.problems)
    sid = get_str(ctx, m, "id", line)
    if m.get("id") is None:
        ctx.err(line, "source needs an 'id'")
    elif sid is not None:
        if not _ID.fullmatch(sid):
            ctx.err(key_line(m, "id", line), f"source id '{sid}' must match [a-z0-9_-]+")
        elif sid in seen:
            ctx.err(key_line(m, "id", line), f"duplicate source id '{sid}' (first at line {seen[sid]})")
        else:
            seen[sid] = line
    label = f"source '{sid or '?'}'"
    enabled = _enabled(ctx, m, line)
    kind = get_str(ctx, m, "kind", line) or "feed"
    if kind not in ("feed", "json", "html"):
        ctx.err(key_line(m, "kind", line), f"unknown kind '{kind}' (use feed, json or html)"
                f"{suggest(kind, ('feed', 'json', 'html'))}")
        kind = "feed"
    url = get_str(ctx, m, "url", line)
    if url is None and m.get("url") is None:
        ctx.err(line, f"{label} needs a 'url'")
    elif url is not None:
        parts = urlsplit(url)
        skip = VAR.search(url) and enabled is not True  # unset key of a disabled source
        if not skip and (parts.scheme not in ("http", "https") or not parts.netloc):
            ctx.err(key_line(m, "url", line), f"'url' must be an http(s) URL, got '{m['url'].strip()}'")
    name = get_str(ctx, m, "name", line)
    tags = get_str_list(ctx, m, "tags", line) or ()
    fields = _fields(ctx, m, line, kind)
    items = get_str(ctx, m, "items", line)
    il = key_line(m, "items", line)
    if kind == "feed" and items is not None:
        ctx.err(il, "'items' is only for kind json or html")
    elif kind != "feed" and items is None and m.get("items") is None:
        ctx.err(line, f"{label}: 'items' is required for kind {kind}")
    elif kind == "json" and items is not None and "" in items.split("."):
        ctx.err(il, f"'items' must be a dotted path like response.body.items, got '{items}'")
    elif kind == "html" and items is not None and (why := _selector_error(items)):
        ctx.err(il, f"'items' is not a valid CSS selector: {why}")
    if kind != "feed" and "title" not in fields:
        ctx.err(key_line(m, "fields", line), f"{label}: fields.title is required for kind {kind}")
    encoding = get_str(ctx, m, "encoding", line)
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            ctx.err(key_line(m, "encoding", line), f"unknown encoding '{encoding}'")
    settings = _source_settings(ctx, m, line)
    headers = dict(defaults["headers"])
    for k, v in (settings.pop("headers") or {}).items():
        headers = {hk: hv for hk, hv in headers.items() if hk.lower() != k.lower()}
        headers[k] = v
    paging = _paging(ctx, m, line, kind)
    board = board_settings(ctx, m, line)
    detail = detail_config(ctx, m, line, kind, _selector_error)
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
                  env_missing=missing, detail=detail, line=line, **board,
                  **{k: defaults[k] if v is None else v for k, v in settings.items()})


def _fields(ctx: Ctx, m: Mapping, line: int, kind: str) -> dict[str, str]:
    f = get_mapping(ctx, m, "fields", line)
    if not f:
        return {}
    n = key_line(m, "fields", line)
    check_keys(ctx, f, _ANN_FIELDS, n, "field")
    out: dict[str, str] = {}
    for k in f:
        if k not in _ANN_FIELDS:
            continue
        if k == "category" and isinstance(f[k], list):  # several source fields, joined (parse/category.py)
            paths = str_items(ctx, f[k], "fields.category", key_line(f, k, n)) or ()
            out.update(expand_category(paths) if paths else {})
            continue
        v = get_str(ctx, f, k, n)
        if v is None:
            if f.get(k) is None:
                ctx.err(key_line(f, k, n), f"'{k}' must not be empty")
            continue
        sel, _, attr = v.rpartition("@")
        sel = sel if sel and re.fullmatch(r"[\w:-]+", attr) else v
        if kind == "html" and k != "link_template" and sel and (why := _selector_error(sel)):
            ctx.err(key_line(f, k, n), f"fields.{k} is not a valid CSS selector: {why}")
        out[k] = v
    return out


def _parse_sources(ctx: Ctx) -> tuple[tuple[Source, ...], set[str] | None]:
    """Sources that validated, and every id seen (None when the file could not be read)."""
    data = read_yaml(ctx, _SOURCES_FILE_KEYS, "sources")
    if data is None:
        return (), None
    defaults = _source_defaults(ctx, data)
    seq = get_items(ctx, data, "sources", 1, required=data.get("include") is None)
    out: list[Source] = []
    seen: dict[str, int] = {}
    for item, line in with_included(ctx, data, seq or []):  # catalogue entries first (config/include.py)
        if not isinstance(item, Mapping):
            ctx.err(line, "each source must be a mapping with 'id' and 'url'")
            continue
        src = _source(ctx, item, line, defaults, seen)
        if src:
            out.append(src)
    return tuple(out), set(seen)


# ---------------------------------------------------------------- rules.yaml

def _keywords(ctx: Ctx, m: Mapping, key: str, line: int) -> tuple[str, ...]:
    words = get_str_list(ctx, m, key, line) or ()
    seq = m.get(key)
    for i, w in enumerate(words):
        if w.startswith("re:"):
            il = item_line(seq, i, line)
            if not w[3:]:
                ctx.err(il, f"'{key}' has an empty regular expression 're:'")
                continue
            if why := keyword_problem(w):
                ctx.err(il, f"bad regular expression '{w}': {why}")
    return words


def _match_fields(ctx: Ctx, m: Mapping, line: int) -> tuple[str, ...] | None:
    fields = get_str_list(ctx, m, "fields", line)
    if fields is None:
        return None
    n = key_line(m, "fields", line)
    if not fields:
        return ctx.err(n, "'fields' must not be empty")
    ok = True
    for i, f in enumerate(fields):
        if f not in _MATCH_FIELDS:
            ok = False
            ctx.err(item_line(m["fields"], i, n),
                    f"unknown field '{f}'{suggest(f, _MATCH_FIELDS)} (use {', '.join(_MATCH_FIELDS)})")
    return fields if ok else None


def _rule(ctx: Ctx, m: Mapping, line: int, d: dict[str, Any], source_ids: set[str] | None,
          seen: dict[str, int]) -> Rule | None:
    check_keys(ctx, m, _RULE_KEYS, line)
    nbefore = len(ctx.problems)
    name = get_str(ctx, m, "name", line)
    if name is None and m.get("name") is None:
        ctx.err(line, "rule needs a 'name'")
    elif name is not None:
        if name in seen:
            ctx.err(key_line(m, "name", line), f"duplicate rule name '{name}' (first at line {seen[name]})")
        seen.setdefault(name, line)
    before = len(ctx.problems)
    any_, all_, none = (_keywords(ctx, m, k, line) for k in ("any", "all", "none"))
    if not any_ and not all_ and len(ctx.problems) == before:
        empty = m.get("any") is not None or m.get("all") is not None  # given as []
        ctx.err(line, f"rule '{name or '?'}' needs 'any' or 'all'{' with at least one keyword' if empty else ''}")
    fields = _match_fields(ctx, m, line)
    sources = get_str_list(ctx, m, "sources", line)
    if sources is not None:
        n = key_line(m, "sources", line)
        if not sources:
            ctx.err(n, "'sources' must list at least one source id (leave it out for every source)")
        for i, s in enumerate(sources):
            if source_ids is not None and s not in source_ids:
                ctx.err(item_line(m["sources"], i, n), f"unknown source '{s}'{suggest(s, sorted(source_ids))}")
    channel = get_str(ctx, m, "channel", line)
    mention = get_str(ctx, m, "mention", line)
    remind, summary_at = _remind(ctx, m, line), _summary_at(ctx, m, line)
    label = get_str(ctx, m, "label", line)
    ctx.flush_unset()
    if name is None or len(ctx.problems) > nbefore:
        return None
    return Rule(name=name, any=any_, all=all_, none=none, fields=fields or d["fields"],
                sources=sources, channel=channel or d["channel"], mention=mention, label=label or None, line=line,
                remind=d["remind"] if remind is None else remind,
                summary_at=summary_at or d["summary_at"])


def _remind(ctx: Ctx, m: Mapping, line: int) -> tuple[float, ...] | None:
    """`remind: [7d, 1d]` -> seconds before the deadline, largest first; each needs a unit."""
    seq = m.get("remind")
    if seq is None:
        return None
    n = key_line(m, "remind", line)
    if not isinstance(seq, list):
        return ctx.err(n, "'remind' must be a list of durations before the deadline, e.g. [7d, 1d]")
    out: list[float] = []
    for i, item in enumerate(seq):
        il = item_line(seq, i, n)
        text = str(item).strip() if isinstance(item, str | int | float) and not isinstance(item, bool) else ""
        try:
            if not text or re.fullmatch(r"[\d.]+", text):
                raise ValueError(f"'{item}' needs a unit (e.g. 7d, 1d, 12h)")
            seconds = parse_duration(text)
            if seconds <= 0:
                raise ValueError(f"'{item}' must be greater than 0")
        except ValueError as exc:
            ctx.err(il, f"'remind': {exc}")
            continue
        out.append(seconds)
    return tuple(sorted(set(out), reverse=True))


def _summary_at(ctx: Ctx, m: Mapping, line: int) -> str | None:
    """`summary_at: "09:00"` (Korea time) -> `09:00`."""
    if m.get("summary_at") is None:
        return None
    n = key_line(m, "summary_at", line)
    value = m["summary_at"]
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip()) if isinstance(value, str) else None
    if not match:
        return ctx.err(n, "'summary_at' must be a time of day in Korea time as \"HH:MM\", e.g. \"09:00\"")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _rule_defaults(ctx: Ctx, data: Mapping) -> dict[str, Any]:
    out = {"channel": _RULE_DEFAULTS["channel"], "fields": _RULE_DEFAULTS["fields"],
           "max_age": _SET_DEFAULTS["max_age"], "digest_over": _SET_DEFAULTS["digest_over"],
           "ops_channel": _SET_DEFAULTS["ops_channel"], "remind": (), "summary_at": None, "public_url": None}
    d = get_mapping(ctx, data, "defaults", 1)
    if not d:
        return out
    line = key_line(data, "defaults", 1)
    check_keys(ctx, d, _RULE_DEFAULT_KEYS, line)
    given = {"channel": get_str(ctx, d, "channel", line), "fields": _match_fields(ctx, d, line),
             "max_age": get_duration(ctx, d, "max_age", line),
             "ops_channel": get_str(ctx, d, "ops_channel", line), "remind": _remind(ctx, d, line),
             "summary_at": _summary_at(ctx, d, line), "public_url": get_str(ctx, d, "public_url", line)}
    if given["public_url"] and not re.match(r"https?://[^/\s]+", given["public_url"], re.I):
        ctx.err(key_line(d, "public_url", line), "'public_url' must be an http(s) URL of the web page")
        given["public_url"] = None
    dig = d.get("digest_over")
    if dig is not None:
        if isinstance(dig, bool) or not isinstance(dig, int) or dig < 0:
            ctx.err(key_line(d, "digest_over", line), "'digest_over' must be an integer of 0 or more")
        else:
            given["digest_over"] = int(dig)
    ctx.flush_unset()
    out.update({k: v for k, v in given.items() if v is not None})
    return out


def _parse_rules(ctx: Ctx, source_ids: set[str] | None) -> RuleSet | None:
    data = read_yaml(ctx, _RULES_FILE_KEYS, "rules")
    if data is None:
        return None
    d = _rule_defaults(ctx, data)
    synonyms, synonym_names = parse_synonyms(ctx, data)
    seq = get_items(ctx, data, "rules", 1)
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(seq or []):
        line = item_line(seq, i, 1)
        if not isinstance(item, Mapping):
            ctx.err(line, "each rule must be a mapping with 'name' and 'any' or 'all'")
            continue
        rule = _rule(ctx, item, line, d, source_ids, seen)
        if rule:
            rules.append(rule)
    return RuleSet(rules=tuple(rules), synonyms=synonyms, synonym_names=synonym_names, max_age=d["max_age"],
                   digest_over=d["digest_over"], ops_channel=d["ops_channel"], public_url=d["public_url"])


# ---------------------------------------------------------------- public API

def check(sources_path: PathLike, rules_path: PathLike,
          env: Env = os.environ) -> tuple[Config | None, list[str], list[str]]:
    """(config or None, problems, notes) for `watcher check`; every problem of both files."""
    sctx, rctx = Ctx(sources_path, env), Ctx(rules_path, env)
    sources, ids = _parse_sources(sctx)
    ruleset = _parse_rules(rctx, ids)
    problems = sctx.lines(sctx.problems) + rctx.lines(rctx.problems)
    notes = sctx.lines(sctx.notes, "note: ") + rctx.lines(rctx.notes, "note: ")
    if problems or ruleset is None:
        return None, problems, notes
    config = Config(sources=sources, rules=ruleset, sources_path=sctx.path, rules_path=rctx.path,
                    rules_text=rctx.text)
    return config, problems, notes


def load_config(sources_path: PathLike, rules_path: PathLike, env: Env = os.environ) -> Config:
    """Both files validated together; raises ConfigError holding every problem."""
    config, problems, _ = check(sources_path, rules_path, env)
    if config is None:
        raise ConfigError(problems)
    return config


def load_sources(path: PathLike, env: Env = os.environ) -> tuple[Source, ...]:
    ctx = Ctx(path, env)
    sources, _ = _parse_sources(ctx)
    if ctx.problems:
        raise ConfigError(ctx.lines(ctx.problems))
    return sources


def load_rules(path: PathLike, source_ids: Iterable[str] | None = None, env: Env = os.environ) -> RuleSet:
    """rules.yaml alone; source_ids=None skips the check that rules name known sources."""
    ctx = Ctx(path, env)
    ruleset = _parse_rules(ctx, None if source_ids is None else set(source_ids))
    if ctx.problems or ruleset is None:
        raise ConfigError(ctx.lines(ctx.problems))
    return ruleset
