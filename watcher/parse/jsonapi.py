"""JSON APIs (data.go.kr, bizinfo, K-Startup, 정책브리핑).

`source.items` is a dotted path to the list of items (`response.body.items.item`; numbers index
lists); one object where a list is expected is one item, and an empty value on the way (`"items":
""`, as data.go.kr sends when nothing matches) is no items. `source.fields` maps announcement
fields to item keys (dotted paths allowed); `link_template` builds the link from item keys
(`{ancmId}`). Errors reported in a 200 body raise ParseError.

An XML body (data.go.kr answers XML when `dataType`/`_type` is missing or ignored) is read as the same
tree: an element with children is an object keyed by child name, a repeated child a list, a leaf its
text; so `response.body.items.item` and the field names hold for both forms.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from lxml import etree

from watcher.errors import ParseError
from watcher.models import Announcement, Source
from watcher.parse.apierror import check_gateway_error, check_json_error
from watcher.parse.detail import api_files
from watcher.parse.item import FILES, announcements
from watcher.parse.text import decode
from watcher.parse.textclean import markup_safe

_MISSING = object()
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def parse_json(source: Source, body: bytes, content_type: str | None, url: str) -> list[Announcement]:
    data = load(body, content_type, source.encoding)
    if check_json_error(data):
        return []
    files = source.detail is not None and bool(source.detail.api_files)
    entries = ((_raw(source, item) | ({FILES: json.dumps(api_files(source.detail, item), ensure_ascii=False)}
                                      if files else {}), False)
               for item in _items(source, data) if isinstance(item, dict))
    return announcements(source, url, entries)


def _raw(source: Source, item: dict[str, Any]) -> dict[str, str | None]:
    """The item's field strings; `link_template` (`view.do?id={ancmId}&y={bsnsYy}`) filled with item keys."""
    raw = {field: _text(lookup(item, path)) for field, path in source.fields.items() if field != "link_template"}
    template = source.fields.get("link_template")
    if template:
        values = {name: _text(lookup(item, name)) for name in _PLACEHOLDER.findall(template)}
        filled = _PLACEHOLDER.sub(lambda m: quote(values[m.group(1)] or "", safe=""), template)
        raw["link"] = filled if all(values.values()) else None
    return raw


def load(body: bytes, content_type: str | None = None, encoding: str | None = None) -> Any:
    text = decode(body, content_type, encoding)
    try:
        return json.loads(text)
    except ValueError as err:
        check_gateway_error(text)
        if text.lstrip().startswith("<"):
            data = _xml_tree(text)
            if data is not None:
                return data
        head = "".join(c if c.isprintable() else "?" for c in " ".join(text[:60].split()))
        if not head:
            raise ParseError("not JSON: empty body") from None
        raise ParseError(f"not JSON: {err.msg} at line {err.lineno} ({head!r}...)") from None


_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _xml_tree(text: str) -> dict[str, Any] | None:
    """A well-formed XML document (not an HTML page) as nested dicts and lists; None otherwise."""
    try:
        root = etree.fromstring(markup_safe(text).encode("utf-8"), _XML_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root.getroottree().docinfo.doctype or not isinstance(root.tag, str) or etree.QName(root).localname == "html":
        return None
    return {etree.QName(root).localname: _xml_value(root)}


def _xml_value(el: etree._Element) -> Any:
    children = [child for child in el if isinstance(child.tag, str)]
    if not children:
        return el.text or ""
    grouped: dict[str, list[Any]] = {}
    for child in children:
        grouped.setdefault(etree.QName(child).localname, []).append(_xml_value(child))
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


def total_count(source: Source, body: bytes) -> int | None:
    """The total number of items the API reports (`paging['total']` path), for the fetch layer."""
    path = (source.paging or {}).get("total")
    if not path:
        return None
    try:
        value = lookup(load(body, None, source.encoding), path)
        return int(str(value).strip())
    except (ParseError, TypeError, ValueError):
        return None


def lookup(data: Any, path: str, default: Any = None) -> Any:
    """`a.b.0.c` in nested dicts and lists; `default` when a step is missing."""
    value = _walk(data, path)[0]
    return default if value is _MISSING else value


def _walk(data: Any, path: str) -> tuple[Any, str]:
    """(value, or _MISSING when a step is absent from a non-empty value; the path found)."""
    value = data
    done: list[str] = []
    for step in path.split(".") if path else []:
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.lstrip("-").isdigit() and -len(value) <= int(step) < len(value):
            value = value[int(step)]
        elif isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict) and step in value[0]:
            value = value[0][step]
        else:
            # an empty value on the way (`"items": ""`) holds nothing rather than being missing
            return (None if _empty(value) else _MISSING), ".".join(done)
        done.append(step)
    return value, path


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def _items(source: Source, data: Any) -> list[Any]:
    if not source.items:
        if isinstance(data, list):
            return data
        raise ParseError("no items path set for a JSON source whose body is not a list")
    value, found = _walk(data, source.items)
    if value is _MISSING:
        where = f" (found up to '{found}')" if found else ""
        hint = _message(data)
        raise ParseError(f"items path '{source.items}' not found{where}" + (f": {hint}" if hint else ""))
    if _empty(value):
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return value
    raise ParseError(f"items path '{source.items}' holds a {type(value).__name__}, not a list")


def _message(data: Any) -> str:
    """A message an API put beside its missing items (`{"code": -4, "msg": "..."}`)."""
    if not isinstance(data, dict):
        return ""
    for key in ("msg", "message", "errMsg", "error", "resultMsg"):
        if isinstance(data.get(key), str | int):
            return " ".join(str(data[key]).split())[:200]
    return ""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [t for t in (_text(v) for v in value) if t]
        return ", ".join(parts) or None
    if isinstance(value, dict):
        return None
    return str(value)
