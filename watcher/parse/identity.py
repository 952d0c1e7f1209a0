"""An item's identity taken from its link, as its source says: parameters that shift never make a post new.

Boards put volatile parameters into their links: the page (`pageNum`, `pageIndex`), the list position
(`no1`, `maxIndex`, `listNo`, `offset`), a session (`jsessionid`). The canonical link of the same post
then changes whenever a post is added, and a post whose id is that link would be stored (and alerted)
again. A source may therefore say where the post's own identity is:

- `id_params: [linkId]` — these query parameters of the link, in the order given: `linkId=48949455`;
- `id_pattern: "/biz/applyInfo/(\\d+)"` — the first group of the regular expression (else its match);
- `id_base64: {param: bbs_data, keys: [idx]}` — keys of the query string carried base64-encoded in
  a parameter (강원TP: `bbs_data=<base64 of idx=3459&startPage=&listNo=…>||`): `idx=3459`.

When the link does not hold what is asked (no link, a parameter missing, a value that does not
decode) the item falls back to the contract's id: its guid, else its canonical link, else a hash.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import parse_qsl, unquote, urlsplit

from watcher.models import Source

_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=_-]")


def identity(source: Source, link: str | None) -> str | None:
    """The item's id as the source's identity setting finds it in `link`; None without one."""
    if not link or not (source.id_params or source.id_pattern or source.id_base64):
        return None
    if source.id_pattern:
        m = re.search(source.id_pattern, link)
        if m is None:
            return None
        return (m.group(1) if m.groups() else m.group(0)) or None
    query = _query(link)
    if source.id_base64:
        inner = decoded(query.get(source.id_base64["param"]))
        return _picked(inner, source.id_base64["keys"]) if inner is not None else None
    return _picked(query, source.id_params)


def _query(link: str) -> dict[str, str]:
    try:
        query = urlsplit(link).query
    except ValueError:
        return {}
    out: dict[str, str] = {}
    for key, value in parse_qsl(query.replace("&amp;", "&"), keep_blank_values=True):
        out.setdefault(key, value)
    return out


def _picked(query: dict[str, str], keys: tuple[str, ...] | list[str]) -> str | None:
    if any(not query.get(k) for k in keys):
        return None
    return "&".join(f"{k}={query[k]}" for k in keys)


def decoded(value: str | None) -> dict[str, str] | None:
    """The query string base64-encoded in `value` (padding, `||` and URL escapes forgiven), as a dict."""
    if not value:
        return None
    text = _NOT_BASE64.sub("", unquote(value))
    text = text.rstrip("=")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if "-" in text or "_" in text else None)
        inner = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if "=" not in inner:
        return None
    return _query("?" + inner)
