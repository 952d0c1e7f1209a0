"""HTML of the search page and the /status page: pure functions of plain data, every value escaped.

Templates (templates/base.html, style.css) are string.Template files; rows are built here. No
JavaScript: the page is a GET form, pages and exports are links carrying the same query.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import date
from functools import cache
from importlib import resources
from string import Template
from typing import Any
from urllib.parse import urlencode, urlsplit

from watcher.clock import minute_text as stamp
from watcher.desk import Page, highlight_words, mark, snippet
from watcher.notify.messages import d_day
from watcher.notify.remedies import slack_remedy
from watcher.parse.links import shown_link

FORM_KEYS = ("q", "source", "rule", "agency", "since", "until", "open", "undated", "matched", "sort", "limit",
             "lang", "state", "assignee")  # the last two: the team's pipeline (web/team.py)
STATES = {"ok": "정상", "failing": "실패", "degraded": "일부 필드 비어 있음", "stale": "새 공고 없음",
          "disabled": "사용 안 함", "never polled": "아직 수집 안 함"}


def e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


@cache
def template(name: str) -> str:
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def layout(title: str, content: str, current: str = "search", head: str = "") -> str:
    marks = {f"nav_{k}": ' aria-current="page"' if k == current else "" for k in ("soon", "search", "status")}
    return Template(template("base.html")).substitute(title=e(title), head=head, style=template("style.css"),
                                                      content=content, **marks)


def http_link(link: str | None) -> str | None:
    """The link when it is an absolute http(s) URL, else None (no javascript:, data:, ...)."""
    if not link:
        return None
    try:
        parts = urlsplit(link.strip())
    except ValueError:
        return None
    return shown_link(link.strip()) if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def url(path: str, form: Mapping[str, str], **changes: object) -> str:
    """path?query with the form's non-empty values, `changes` applied (None drops a key)."""
    params = {k: v for k, v in form.items() if k in FORM_KEYS and v not in ("", None)}
    params.update({k: str(v) for k, v in changes.items() if v is not None})
    for k, v in changes.items():
        if v is None:
            params.pop(k, None)
    return path + ("?" + urlencode(params) if params else "")


def call_url(row: Mapping[str, Any], q: str = "") -> str:
    """The page of one call (watcher/web/callpage.py) of a search row."""
    params = {"source": row.get("source") or "", "id": row.get("id") or ""}
    return "/call?" + urlencode({**params, "q": q} if q else params)


def _options(choices: list[tuple[str, str]], selected: str, blank: str) -> str:
    out = [f'<option value="">{e(blank)}</option>']
    for value, label in choices:
        chosen = " selected" if value == selected else ""
        out.append(f'<option value="{e(value)}"{chosen}>{e(label)}</option>')
    return "".join(out)


def _check(name: str, on: bool, text: str, hidden_off: bool = False) -> str:
    off = f'<input type="hidden" name="{name}" value="0">' if hidden_off else ""
    return (f'<label>{off}<input type="checkbox" name="{name}" id="{name}" value="1"{" checked" if on else ""}> '
            f"{e(text)}</label>")


def freshness_line(fresh: Mapping[str, Any] | None) -> str:
    if not fresh:
        return ""
    last = stamp(fresh.get("last_poll"))
    parts = [f'마지막 수집 <span class="date">{e(last)}</span>' if last else "아직 수집한 적 없음"]
    failing = fresh.get("failing") or []
    if failing:
        names = ", ".join(failing[:3]) + (" 외" if len(failing) > 3 else "")
        parts.append(f'<a class="bad" href="/status">실패 중인 출처 {len(failing)}곳</a> ({e(names)})')
    else:
        parts.append('<a href="/status">모든 출처 정상</a>')
    return f'<p class="fresh" id="freshness">{" · ".join(parts)}</p>'


def search_form(form: Mapping[str, str], sources: list[tuple[str, str]], rules: list[tuple[str, str]],
                flags: Mapping[str, bool], extra: str = "") -> str:
    """The GET form; `extra`: more controls before the button (the team's filters)."""
    sort = form.get("sort") or "newest"
    return "".join([
        '<form class="search" method="get" action="/search" role="search">',
        f'<input type="search" name="q" id="q" value="{e(form.get("q"))}" aria-label="검색어" '
        'placeholder="특구, 의료기기, &quot;디지털 헬스케어&quot;">',
        f'<select name="source" id="source" aria-label="출처">{_options(sources, form.get("source", ""), "모든 출처")}'
        "</select>",
        f'<select name="rule" id="rule" aria-label="규칙">{_options(rules, form.get("rule", ""), "모든 규칙")}'
        "</select>",
        f'<input type="text" name="agency" id="agency" value="{e(form.get("agency"))}" aria-label="기관" '
        'placeholder="기관">',
        '<span class="range">',
        f'<label for="since">게시일</label> <input type="date" name="since" id="since" value="{e(form.get("since"))}">',
        f' <label for="until" aria-label="까지">~</label> '
        f'<input type="date" name="until" id="until" value="{e(form.get("until"))}"></span>',
        _check("open", flags["open"], "접수 중만"),
        _check("undated", flags["undated"], "상시·미정 포함", hidden_off=True),
        _check("matched", flags["matched"], "규칙에 걸린 공고만"),
        '<select name="sort" id="sort" aria-label="정렬">',
        f'<option value="newest"{" selected" if sort != "deadline" else ""}>최신순</option>',
        f'<option value="deadline"{" selected" if sort == "deadline" else ""}>마감순</option></select>',
        extra, '<button type="submit" id="go">검색</button></form>',
    ])


def _due(deadline: str | None, today: date) -> tuple[str, str]:
    """(cell HTML, row class) of a deadline."""
    label = d_day(deadline, today) if deadline else None
    if not label:
        return '<span class="open-ended">상시·미정</span>', ""
    days = (date.fromisoformat(deadline[:10]) - today).days if deadline else 99
    soon = " soon" if 0 <= days <= 7 else ""
    cell = f'<span class="date">{e(deadline[:10])}</span><span class="dday{soon}">{e(label)}</span>'
    return cell, ' class="closed"' if label == "마감" else ""


def _rule_cell(rule: str, labels: Mapping[str, str], words_of: Mapping[str, list[str]]) -> str:
    """A matching rule and the item's words it matched: `gangso` + `강소연구개발특구 (제목)`."""
    words = words_of.get(rule) or []
    shown = f'<span class="words">{e(", ".join(words))}</span>' if words else ""
    return f'<span class="rule" title="{e(rule)}">{e(labels.get(rule) or rule)}{shown}</span>'


def result_row(row: dict[str, Any], today: date, q: str, labels: Mapping[str, str]) -> str:
    words = highlight_words(row, q)
    link = http_link(row.get("link"))
    title = mark(row.get("title") or "(제목 없음)", words)
    title_html = f'<a href="{e(link)}" rel="noopener noreferrer nofollow">{title}</a>' if link else title
    agency = f'<div class="agency">{e(row["agency"])}</div>' if row.get("agency") else ""
    text = snippet(row.get("summary"), words)
    summary = f'<div class="snippet">{mark(text, words)}</div>' if text else ""
    if "attachments" in row:  # a call that was read: its page, and where the words are
        found = f' ({e(" · ".join(row["found"]))})' if row.get("found") else ""
        summary += f'<div class="read"><a href="{e(call_url(row, q))}">본문·첨부 보기</a>{found}</div>'
    due, closed = _due(row.get("deadline"), today)
    published = (row.get("published") or row.get("first_seen") or "")[:10]
    words_of = {m["rule"]: m["words"] for m in row.get("matched") or []}
    rules = "".join(_rule_cell(r, labels, words_of) for r in row.get("rules") or [])
    return (
        f'<tr{closed}><td class="title">{title_html}{agency}{summary}{row.get("team_html", "")}</td>'
        f'<td class="source"><span class="label">출처</span>{e(row.get("source_name") or row.get("source"))}</td>'
        f'<td class="published"><span class="label">게시</span><span class="date">{e(published)}</span></td>'
        f'<td class="deadline"><span class="label">마감</span>{due}</td><td class="rules">{rules}</td></tr>'
    )


def pages_nav(form: Mapping[str, str], page: Page, per_page: int, current: int) -> str:
    count = (page.total + per_page - 1) // per_page
    if count <= 1:
        return ""
    shown = sorted({1, count, *range(max(1, current - 2), min(count, current + 2) + 1)})
    out, before = ['<nav class="pages" aria-label="페이지">'], 0
    if current > 1:
        out.append(f'<a href="{e(url("/search", form, page=current - 1))}" rel="prev">이전</a>')
    for n in shown:
        if n - before > 1:
            out.append("<span>…</span>")
        if n == current:
            out.append(f'<span aria-current="page">{n}</span>')
        else:
            out.append(f'<a href="{e(url("/search", form, page=n))}">{n}</a>')
        before = n
    if current < count:
        out.append(f'<a href="{e(url("/search", form, page=current + 1))}" rel="next" id="next">다음</a>')
    out.append("</nav>")
    return "".join(out)


def results(form: Mapping[str, str], page: Page, per_page: int, current: int, today: date,
            labels: Mapping[str, str]) -> str:
    count = f"총 {page.total:,}건" + (f" · {page.first:,}–{page.last:,}" if page.rows else "")
    exports = " ".join(f'<a href="{e(url("/search", form, format=f, page=None))}" id="export-{f}">{f.upper()}</a>'
                       for f in ("csv", "json", "atom"))
    calendar = url("/calendar.ics", {"rule": form.get("rule", ""), "open": "1"})
    exports += f' <a href="{e(calendar)}" id="export-ics" title="마감일 달력 (iCalendar)">달력</a>'
    parts = [f'<div class="summary-line"><p class="count" id="count">{count}</p>'
             f'<p class="exports">내보내기{exports}</p></div>']
    if page.rows:
        parts.append('<table id="results"><thead><tr><th>제목</th><th>출처</th><th>게시일</th><th>마감</th>'
                     "<th>규칙</th></tr></thead><tbody>")
        parts.extend(result_row(row, today, form.get("q", ""), labels) for row in page.rows)
        parts.append("</tbody></table>")
    parts.append(pages_nav(form, page, per_page, current))
    return "".join(parts)


def search_page(form: Mapping[str, str], flags: Mapping[str, bool], sources: list[tuple[str, str]],
                rules: list[tuple[str, str]], body: str, fresh: Mapping[str, Any] | None, message: str = "",
                current: str = "search", extra: str = "") -> str:
    q = form.get("q")
    title = f"{q} - 공모사업 검색" if q else ("마감 임박 공모사업" if current == "soon" else "공모사업 검색")
    atom = url("/search", form, format="atom", page=None)
    feed = f'<link rel="alternate" type="application/atom+xml" title="{e(title)}" href="{e(atom)}">'
    content = [freshness_line(fresh), search_form(form, sources, rules, flags, extra)]
    if message:
        content.append(f'<p class="error" role="alert">{e(message)}</p>')
    content.append(body)
    return layout(title, "".join(content), current, head=feed)


def render_page(form: dict[str, str], sources: list[tuple[str, str]], rules: list[str],
                rows: list[dict[str, Any]] | None, today: date, message: str = "") -> str:
    """The search page over plain rows (every value escaped); the app renders through search_page."""
    flags = {"open": bool(form.get("open")), "undated": form.get("undated", "1") != "0",
             "matched": bool(form.get("matched"))}
    body = ""
    if rows is not None:
        body = results(form, Page(total=len(rows), offset=0, rows=rows), max(1, len(rows)), 1, today, {})
    return search_page(form, flags, sources, [(r, r) for r in rules], body, None, message)


def _when(value: str | None) -> str:
    return f'<span class="date">{e(stamp(value))}</span>' if value else "-"


def status_page(rows: list[dict[str, Any]], pending: list[dict[str, Any]], fresh: Mapping[str, Any]) -> str:
    out = [freshness_line(fresh), "<h2>출처별 수집 상태</h2>"]
    out.append('<table class="status" id="sources"><thead><tr><th>출처</th><th>상태</th><th>마지막 성공</th>'
               "<th>마지막 오류</th><th>저장된 공고</th><th>마지막 새 공고</th><th>다음 수집</th></tr></thead><tbody>")
    for row in rows:
        state = row.get("state") or "ok"
        css = "never" if state == "never polled" else state.replace(" ", "-")
        todo = f'<div class="todo">{e(row["reason"])}</div>' if row.get("reason") else ""  # what to do
        error = e(row.get("last_error")) if row.get("last_error") else ""
        failures = f' ({e(row.get("failures"))}회 연속)' if row.get("failures") else ""
        if row.get("file_error"):
            error += f'<div class="agency file-error">첨부 읽기 실패: {e(row["file_error"])}</div>'
        out.append(
            f'<tr id="source-{e(row["id"])}"><td class="title">{e(row.get("name") or row["id"])}'
            f'<div class="agency">{e(row["id"])}</div></td>'
            f'<td class="state state-{e(css)}" data-state="{e(state)}">{e(STATES.get(state, state))}</td>'
            f'<td class="when"><span class="label">성공</span>{_when(row.get("last_success"))}</td>'
            f'<td class="err">{error}{failures}{todo}</td>'
            f'<td class="num"><span class="label">공고</span>{e(row.get("items") or 0)}건</td>'
            f'<td class="when"><span class="label">새 공고</span>{_when(row.get("last_new_item"))}</td>'
            f'<td class="when"><span class="label">다음</span>{_when(row.get("next_poll"))}</td></tr>'
        )
    out.append("</tbody></table><h2>보내지 못한 알림</h2>")
    if not pending:
        out.append('<p id="pending">대기 중인 알림이 없습니다.</p>')
    else:
        out.append('<table class="status" id="pending"><thead><tr><th>채널</th><th>대기</th><th>가장 오래된 것</th>'
                   "<th>마지막 오류</th><th>할 일</th></tr></thead><tbody>")
        for row in sorted(pending, key=lambda r: not r.get("last_error")):  # refused channels first
            todo = slack_remedy(row["last_error"], row["channel"]) if row.get("last_error") else "곧 보냅니다."
            out.append(f'<tr class="{"failing" if row.get("last_error") else "waiting"}">'
                       f'<td class="title">{e(row["channel"])}</td><td class="num">{e(row["pending"])}건</td>'
                       f'<td class="when">{_when(row.get("oldest"))}</td>'
                       f'<td class="err">{e(row.get("last_error") or "-")}</td><td class="todo">{e(todo)}</td></tr>')
        out.append("</tbody></table>")
    return layout("수집 상태 - 공모사업 알리미", "".join(out), "status")
