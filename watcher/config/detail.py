"""A source's `detail:` mapping (docs/CONFIG.md § detail): how the watcher reaches the rest of a call.

`body`, `period` and `files` are CSS selectors on the call's detail page (the announcement's link);
`file_name` says where a file's name is relative to its link (`@title`, `span`), `file_template`
turns a script link (`fncFileDownload('bbs','a.pdf')`) into an address as `link_template` does for
list links. `api_files` lists where a JSON item holds its attachments (dotted paths; `each` for a
list of files, `split` for several joined in one string). `max_files` and `wait` bound the reading.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from watcher.config.yamlcheck import Ctx, check_keys, get_duration, get_str, item_line, key_line
from watcher.models import ApiFiles, Detail

_DETAIL_KEYS = ("body", "period", "files", "file_name", "file_template", "api_files", "max_files", "wait")
_API_FILE_KEYS = ("url", "name", "each", "split")
MAX_FILES = 10  # the most `max_files` may ask for (polite to the boards)
_SPEC = re.compile(r"^(?P<sel>.*?)\s*@(?P<attr>[A-Za-z_:][-A-Za-z0-9_:.]*)\s*$", re.S)


def detail_config(ctx: Ctx, m: Mapping, line: int, kind: str, selector_error: Any) -> Detail | None:
    """The source's `detail:` as a Detail, or None (absent, or a problem recorded)."""
    raw = m.get("detail")
    if raw is None:
        return None
    n = key_line(m, "detail", line)
    if not isinstance(raw, Mapping):
        return ctx.err(n, "'detail' must be a mapping (body, period, files, api_files, ...)")
    before = len(ctx.problems)
    check_keys(ctx, raw, _DETAIL_KEYS, n)
    values: dict[str, Any] = {}
    for key in ("body", "period", "files", "file_name"):
        value = get_str(ctx, raw, key, n)
        if value is None:
            continue
        spec = _SPEC.match(value)
        selector = spec.group("sel") if spec else value
        if selector and (why := selector_error(selector)):
            ctx.err(key_line(raw, key, n), f"detail.{key} is not a valid CSS selector: {why}")
        values[key] = value
    template = get_str(ctx, raw, "file_template", n)
    if template is not None:
        if not re.search(r"\{\d+\}", template):
            ctx.err(key_line(raw, "file_template", n), "'file_template' needs {0}, {1}, ... for the script's arguments")
        values["file_template"] = template
    api = _api_files(ctx, raw, n, kind)
    if api:
        values["api_files"] = api
    count = raw.get("max_files")
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_FILES:
            ctx.err(key_line(raw, "max_files", n), f"'max_files' must be an integer from 0 to {MAX_FILES}")
        else:
            values["max_files"] = count
    wait = get_duration(ctx, raw, "wait", n, 0, "0 or more")
    if wait is not None:
        values["wait"] = wait
    if len(ctx.problems) > before:
        return None
    detail = Detail(**values)
    if not detail.page and not detail.api_files:
        return ctx.err(n, "'detail' needs body, period or files (the detail page), or api_files")
    return detail


def _api_files(ctx: Ctx, raw: Mapping, line: int, kind: str) -> tuple[ApiFiles, ...]:
    seq = raw.get("api_files")
    if seq is None:
        return ()
    n = key_line(raw, "api_files", line)
    if kind != "json":
        ctx.err(n, "'api_files' is only for kind json")
        return ()
    if isinstance(seq, Mapping):
        seq = [seq]
    if not isinstance(seq, list) or not seq:
        ctx.err(n, "'api_files' must be a list of {url: PATH, name: PATH} mappings")
        return ()
    out = []
    for i, entry in enumerate(seq):
        il = item_line(seq, i, n)
        if not isinstance(entry, Mapping):
            ctx.err(il, "each of 'api_files' must be a mapping like {url: printFlpthNm, name: printFileNm}")
            continue
        check_keys(ctx, entry, _API_FILE_KEYS, il)
        url = get_str(ctx, entry, "url", il)
        if url is None and entry.get("url") is None:
            ctx.err(il, "each of 'api_files' needs 'url' (the item's key holding the file's address)")
            continue
        paths = {k: get_str(ctx, entry, k, il) for k in ("name", "each")}
        for key, value in (("url", url), *paths.items()):
            if value is not None and "" in value.split("."):
                ctx.err(key_line(entry, key, il), f"'{key}' must be a dotted path like files.file.fileUrl")
        split = entry.get("split")
        if split is not None and (not isinstance(split, str) or not split):
            ctx.err(key_line(entry, "split", il), "'split' must be the text joining several files, e.g. \"@\"")
            split = None
        if url is not None:
            out.append(ApiFiles(url=url, name=paths["name"], each=paths["each"], split=split))
    return tuple(out)
