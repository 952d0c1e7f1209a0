"""The request of one poll, from the source's settings: dates relative to the poll, a POST body.

`{today:FMT}`, `{today-Nd:FMT}` and `{today+Nd:FMT}` in a source's `url`, `session_url`, header
values and body values are replaced by the poll's day in Korea time (N days before or after),
written with the strftime format FMT (`{today:%Y%m%d}` -> `20261124`; `{today}` alone is
`%Y-%m-%d`). So 나라장터's query window `inqryBgnDt={today-3d:%Y%m%d}0000&inqryEndDt={today:%Y%m%d}2359`
always ends on the day of the poll. In a URL the filled value is percent-encoded.

A `body` is `{"form": {...}}` (sent `application/x-www-form-urlencoded`) or `{"json": {...}}`
(sent `application/json`, UTF-8). Pure: `prepared(source, now)` returns the source with every
template filled; `encoded_body(source)` the bytes and content type to send.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from watcher.clock import KST
from watcher.models import Source

TEMPLATE = re.compile(r"\{today(?:(?P<sign>[+-])(?P<days>\d{1,4})d)?(?::(?P<fmt>[^{}]*))?\}")
_LOOSE = re.compile(r"\{today[^{}]*\}")
DEFAULT_FORMAT = "%Y-%m-%d"


def template_problem(text: str) -> str | None:
    """Why a `{today…}` in `text` cannot be filled, or None when every one can."""
    for token in _LOOSE.findall(text):
        m = TEMPLATE.fullmatch(token)
        if m is None:
            return f"bad date template '{token}' (write {{today:%Y%m%d}} or {{today-3d:%Y%m%d}})"
        try:
            datetime(2026, 1, 2, tzinfo=KST).strftime(m.group("fmt") or DEFAULT_FORMAT)
        except ValueError as exc:
            return f"bad date format in '{token}': {exc}"
    return None


def fill(text: str, now: datetime, in_url: bool = False) -> str:
    """`text` with every `{today…}` replaced by the day of `now` in Korea time."""
    if "{today" not in text:
        return text
    day = now.astimezone(KST)

    def repl(m: re.Match[str]) -> str:
        shift = int(m.group("days") or 0) * (-1 if m.group("sign") == "-" else 1)
        value = (day + timedelta(days=shift)).strftime(m.group("fmt") or DEFAULT_FORMAT)
        return quote(value, safe="-_.~") if in_url else value

    return TEMPLATE.sub(repl, text)


def _filled(value: Any, now: datetime) -> Any:
    if isinstance(value, str):
        return fill(value, now)
    if isinstance(value, dict):
        return {k: _filled(v, now) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_filled(v, now) for v in value]
    return value


def prepared(source: Source, now: datetime) -> Source:
    """The source as this poll sends it: `{today…}` filled in url, session_url, headers and body."""
    texts = [source.url, source.session_url or "", *source.headers.values()]
    if "{today" not in "".join(texts) and not (source.body and "{today" in json.dumps(source.body)):
        return source
    return dataclasses.replace(
        source,
        url=fill(source.url, now, in_url=True),
        session_url=fill(source.session_url, now, in_url=True) if source.session_url else None,
        headers={k: fill(v, now) for k, v in source.headers.items()},
        body=_filled(source.body, now) if source.body else None,
    )


def encoded_body(source: Source) -> tuple[bytes, str] | None:
    """(bytes, Content-Type) of the source's POST body; None for a request without one."""
    if source.method != "POST":
        return None
    body = source.body or {"form": {}}
    if "json" in body:
        return json.dumps(body["json"], ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8"
    form = [(k, "" if v is None else str(v)) for k, v in (body.get("form") or {}).items()]
    return urlencode(form).encode("ascii"), "application/x-www-form-urlencoded; charset=UTF-8"
