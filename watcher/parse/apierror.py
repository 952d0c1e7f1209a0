"""Errors that public APIs report inside an HTTP 200 body.

- data.go.kr gateway (key, quota, service): an XML `OpenAPI_ServiceResponse` even for JSON calls,
  `<returnReasonCode>30</returnReasonCode><returnAuthMsg>SERVICE_KEY_IS_NOT_REGISTERED_ERROR`.
- data.go.kr services: `header.resultCode` other than `00`; `03` (NODATA_ERROR) means no items.
- bizinfo's own API: `{"reqErr": "..."}`.
"""

from __future__ import annotations

import re
from typing import Any

from watcher.errors import ParseError

_GATEWAY_MARK = re.compile(r"<(?:OpenAPI_ServiceResponse|cmmMsgHeader)\b")
_XML_FIELD = {
    name: re.compile(rf"<{name}>\s*([^<]*?)\s*</{name}>")
    for name in ("returnReasonCode", "returnAuthMsg", "errMsg", "resultCode", "resultMsg")
}
_OK_CODES = frozenset({"00", "0", "000", "INFO-000"})
NO_DATA_CODES = frozenset({"03", "INFO-200"})


def _xml(text: str, name: str) -> str:
    m = _XML_FIELD[name].search(text)
    return m.group(1) if m else ""


def check_gateway_error(text: str) -> None:
    """Raise ParseError for a data.go.kr gateway error document (XML, whatever was asked for)."""
    head = text[:4000]
    if not _GATEWAY_MARK.search(head):
        return
    code = _xml(head, "returnReasonCode") or _xml(head, "resultCode")
    msg = _xml(head, "returnAuthMsg") or _xml(head, "errMsg") or _xml(head, "resultMsg") or "unknown"
    raise ParseError(f"API error {code}: {msg}" if code else f"API error: {msg}")


def _header(data: dict[str, Any]) -> dict[str, Any] | None:
    response = data.get("response")
    for holder in (response if isinstance(response, dict) else None, data):
        if isinstance(holder, dict):
            header = holder.get("header")
            if isinstance(header, dict) and "resultCode" in header:
                return header
    return data if "resultCode" in data else None


def check_json_error(data: Any) -> bool:
    """Raise ParseError when the body reports an error; True when it reports "no data"."""
    if not isinstance(data, dict):
        return False
    if "reqErr" in data:
        raise ParseError(f"API error: {_one_line(data['reqErr'])}")
    header = _header(data)
    if header is None:
        return False
    code = str(header.get("resultCode", "")).strip()
    if code in _OK_CODES or not code:
        return False
    if code in NO_DATA_CODES:
        return True
    msg = header.get("resultMsg") or header.get("resultMessage") or "unknown"
    raise ParseError(f"API error {code}: {_one_line(msg)}")


def _one_line(value: Any, limit: int = 200) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
