"""The source keys real boards need, validated with line numbers: how to ask, how to tell posts apart.

- `method: POST` with `body: {form: {...}}` or `body: {json: {...}}`; `session_url`, fetched first
  in each poll for the cookie it sets;
- `{today:FMT}` / `{today-Nd:FMT}` date templates in `url`, `session_url`, header and body values
  (filled at each poll by watcher/fetch/request.py);
- the item's identity taken from its link, so that parameters that shift (page, list position,
  `jsessionid`) never make a stored post new again: `id_params` (query parameters), `id_pattern`
  (a regular expression) or `id_base64` (keys inside a base64-encoded parameter);
- `agency`: the fixed agency of the source's items that carry none.
docs/CONFIG.md documents each key; watcher/config/load.py calls `board_settings` for every source.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from watcher.config.yamlcheck import Ctx, check_keys, get_mapping, get_str, get_str_list, key_line
from watcher.fetch.request import template_problem

BOARD_KEYS = ("method", "body", "session_url", "id_params", "id_pattern", "id_base64", "agency")
BODY_KEYS = ("form", "json")
ID_BASE64_KEYS = ("param", "keys")
IDENTITY_KEYS = ("id_params", "id_pattern", "id_base64")


def board_settings(ctx: Ctx, m: Mapping, line: int) -> dict[str, Any]:
    """Source keyword arguments for the keys of BOARD_KEYS (each problem recorded at its line)."""
    out: dict[str, Any] = {}
    method = (get_str(ctx, m, "method", line) or "GET").upper()
    if method not in ("GET", "POST"):
        ctx.err(key_line(m, "method", line), f"'method' must be GET or POST, got '{m['method']}'")
        method = "GET"
    out["method"] = method
    out["body"] = _body(ctx, m, line, method)
    if method == "POST" and m.get("paging") is not None:
        ctx.err(key_line(m, "paging", line), "'paging' is only for GET sources")
    session_url = get_str(ctx, m, "session_url", line)
    if session_url is not None:
        parts = urlsplit(session_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            ctx.err(key_line(m, "session_url", line), f"'session_url' must be an http(s) URL, got '{session_url}'")
    out["session_url"] = session_url
    out.update(_identity(ctx, m, line))
    out["agency"] = get_str(ctx, m, "agency", line)
    for key in ("url", "session_url"):
        if isinstance(m.get(key), str) and (why := template_problem(m[key])):
            ctx.err(key_line(m, key, line), f"'{key}': {why}")
    headers = m.get("headers")
    if isinstance(headers, Mapping):
        for name, value in headers.items():
            if isinstance(value, str) and (why := template_problem(value)):
                ctx.err(key_line(headers, name, key_line(m, "headers", line)), f"'headers.{name}': {why}")
    return out


def _body(ctx: Ctx, m: Mapping, line: int, method: str) -> dict[str, Any] | None:
    body = get_mapping(ctx, m, "body", line)
    if body is None:
        return None
    n = key_line(m, "body", line)
    if method != "POST":
        return ctx.err(n, "'body' is sent only with method: POST")
    check_keys(ctx, body, BODY_KEYS, n)
    given = [k for k in BODY_KEYS if body.get(k) is not None]
    if len(given) != 1:
        return ctx.err(n, "'body' needs one of 'form' (form fields) or 'json' (a JSON object)")
    value = body[given[0]]
    vl = key_line(body, given[0], n)
    if not isinstance(value, Mapping):
        return ctx.err(vl, f"'body.{given[0]}' must be a mapping of names to values")
    if given[0] == "form":
        form: dict[str, str] = {}
        for k, v in value.items():
            kl = key_line(value, k, vl)
            if isinstance(v, Mapping | list):
                ctx.err(kl, f"'body.form.{k}' must be a plain value (text or number)")
                continue
            text = "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
            if why := template_problem(text):
                ctx.err(kl, f"'body.form.{k}': {why}")
            form[str(k)] = ctx.subst(text, kl)
        return {"form": form}
    return {"json": _json_value(ctx, value, vl)}


def _json_value(ctx: Ctx, value: Any, line: int) -> Any:
    if isinstance(value, str):
        if why := template_problem(value):
            ctx.err(line, f"'body.json': {why}")
        return ctx.subst(value, line)
    if isinstance(value, Mapping):
        return {str(k): _json_value(ctx, v, key_line(value, k, line)) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(ctx, v, line) for v in value]
    return value


def _identity(ctx: Ctx, m: Mapping, line: int) -> dict[str, Any]:
    given = [k for k in IDENTITY_KEYS if m.get(k) is not None]
    if len(given) > 1:
        ctx.err(key_line(m, given[1], line), f"use one of {', '.join(IDENTITY_KEYS)}, not {' and '.join(given)}")
    params = get_str_list(ctx, m, "id_params", line)
    if params is not None and not params:
        ctx.err(key_line(m, "id_params", line), "'id_params' must name at least one query parameter")
    pattern = get_str(ctx, m, "id_pattern", line)
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            ctx.err(key_line(m, "id_pattern", line), f"'id_pattern' is not a regular expression: {exc}")
            pattern = None
    return {"id_params": params or (), "id_pattern": pattern, "id_base64": _base64(ctx, m, line)}


def _base64(ctx: Ctx, m: Mapping, line: int) -> dict[str, Any] | None:
    spec = get_mapping(ctx, m, "id_base64", line)
    if spec is None:
        return None
    n = key_line(m, "id_base64", line)
    check_keys(ctx, spec, ID_BASE64_KEYS, n)
    param = get_str(ctx, spec, "param", n)
    keys = get_str_list(ctx, spec, "keys", n)
    if param is None or not keys:
        return ctx.err(n, "'id_base64' needs 'param' (the base64 parameter) and 'keys' (the names inside it)")
    return {"param": param, "keys": keys}
