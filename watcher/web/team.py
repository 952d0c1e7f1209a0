"""The team's pipeline on the desk (#26): the state and assignee of each call, the two filters, and
`놓친 공고`: a member marks a stored call no alert announced as one that should have come.

HTML here is pure (every value escaped). `POST /missed` is the desk's only write: a form of the
desk's own page (same origin only: `Origin` / `Sec-Fetch-Site` are checked), for a stored call that
was never alerted; it records the mark (store/triage.py) and sends the browser back to its search.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from watcher.notify.teamtext import STATES, state_code
from watcher.web.page import e

log = logging.getLogger(__name__)
FORM_KEYS = ("state", "assignee")
BODY_MAX = 10_000
Response = tuple[str, str, bytes, list[tuple[str, str]]]


def query_state(form: Mapping[str, str]) -> str | None:
    """The `state` filter as the store keeps it: a code, `none`, or None (no filter)."""
    value = (form.get("state") or "").strip()
    if not value:
        return None
    return "none" if value == "none" else state_code(value)


def filters(form: Mapping[str, str], members: list[str]) -> str:
    """The state and assignee selects of the search form."""
    chosen = form.get("state", "")
    states = [("", "모든 상태"), ("none", "상태 없음"), *STATES.items()]
    state = "".join(f'<option value="{e(v)}"{" selected" if v == chosen else ""}>{e(label)}</option>'
                    for v, label in states)
    who = form.get("assignee", "")
    people = [("", "모든 담당")] + [(m, f"@{m}") for m in members]
    if who and who not in members:
        people.append((who, f"@{who}"))
    assignee = "".join(f'<option value="{e(v)}"{" selected" if v == who else ""}>{e(label)}</option>'
                       for v, label in people)
    return (f'<select name="state" id="state" aria-label="상태">{state}</select>'
            f'<select name="assignee" id="assignee" aria-label="담당">{assignee}</select>')


def cell(row: dict[str, Any], back: str, rules: list[tuple[str, str]]) -> str:
    """Under a title: `지원 예정 · 담당 @kim`, or for a stored call never alerted the `놓친 공고` form."""
    parts = []
    if row.get("state"):
        parts.append(f'<span class="team-state">{e(row["state"])}</span>')
    if row.get("assignee"):
        parts.append(f'<span class="team-who">담당 @{e(row["assignee"])}</span>')
    html = f'<div class="team">{" · ".join(parts)}</div>' if parts else ""
    if not row.get("alerted"):
        options = "".join(f'<option value="{e(name)}">{e(label)}</option>' for name, label in rules)
        html += ('<form class="missed" method="post" action="/missed">'
                 f'<input type="hidden" name="source" value="{e(row["source"])}">'
                 f'<input type="hidden" name="id" value="{e(row["id"])}">'
                 f'<input type="hidden" name="back" value="{e(back)}">'
                 f'<select name="rule" aria-label="어느 규칙에 걸렸어야 하나요"><option value="">규칙 미지정</option>'
                 f'{options}</select>'
                 '<input type="text" name="who" placeholder="이름" aria-label="표시한 사람" size="6">'
                 '<button type="submit" class="missed">놓친 공고</button></form>')
    return html


def _same_origin(environ: dict[str, Any]) -> bool:
    if environ.get("HTTP_SEC_FETCH_SITE", "same-origin") not in ("same-origin", "none"):
        return False
    origin = environ.get("HTTP_ORIGIN")
    if origin and origin != "null":
        return urlsplit(origin).netloc == (environ.get("HTTP_HOST") or "")
    return True


def _page(status: str, text: str) -> Response:
    body = f'<!doctype html><meta charset="utf-8"><p>{e(text)}</p><p><a href="/search">검색으로</a></p>'
    return status, "text/html", body.encode(), []


def missed_post(environ: dict[str, Any], store_path: str, now: datetime, rule_names: list[str]) -> Response:
    """POST /missed: source, id, rule (optional), who (optional), back (the search to return to)."""
    from watcher.store import Store

    if not _same_origin(environ):
        return _page("403 Forbidden", "다른 사이트에서 보낸 요청은 받지 않습니다.")
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), BODY_MAX)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length else b""
    form = {k: v[-1].strip() for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    rule = form.get("rule") or None
    if rule and rule_names and rule not in rule_names:
        return _page("400 Bad Request", f"규칙 '{rule}' 이(가) rules.yaml 에 없습니다.")
    if not (form.get("source") and form.get("id")):
        return _page("400 Bad Request", "어느 공고인지 빠졌습니다.")
    try:
        store = Store(store_path)
    except Exception as exc:  # the database cannot be written (read-only volume, locked)
        log.warning("/missed: %s", exc)
        return _page("503 Service Unavailable", "데이터베이스에 쓸 수 없습니다.")
    try:
        row = store.announcement_row(form["source"], form["id"])
        if row is None:
            return _page("404 Not Found", "저장된 공고에서 찾지 못했습니다. 아무것도 바꾸지 않았습니다.")
        if row["alerted"]:
            return _page("409 Conflict", "이미 알림이 간 공고입니다. 놓친 공고로 표시하지 않았습니다.")
        who = " ".join(form.get("who", "").split())[:60] or "desk"
        store.mark_missed(row, rule, f"desk:{who}", who, now, "desk")
    finally:
        store.close()
    back = form.get("back") or "/search"
    if not back.startswith("/search"):
        back = "/search"
    back = quote(back, safe="/?=&%+:,;@")  # a header is latin-1: the page's own links are encoded already
    return "303 See Other", "text/plain", b"", [("Location", back)]
