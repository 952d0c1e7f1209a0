"""The desk's page of one call (`/call?source=ID&id=ID&q=WORDS`): what its reading found, the words
its rules matched (and the words searched for) highlighted. Pure: a stored row in, HTML out; every
value escaped, only http(s) links linked.

It shows the announcement as listed (title linked, source, agency, dates, rules with the item's
words), then the detail page's text, then each attachment: its name linked to where it came from,
its type, size and characters, or why it was not read (a form, an unreadable type) or what failed;
the text of each file read, whole, lines kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from watcher.deadlines import d_day
from watcher.desk import mark, query_words
from watcher.web.page import e, http_link, layout


def _marked(text: str | None, words: Iterable[str]) -> str:
    """Text with the words marked, each line kept (`white-space: pre-wrap`)."""
    return "\n".join(mark(line, words) for line in (text or "").split("\n"))


def _size(n: int | None) -> str:
    if not n:
        return ""
    return f"{n / 1_000_000:.1f} MB" if n >= 1_000_000 else f"{max(1, n // 1000)} KB"


def _file_line(f: dict[str, Any]) -> str:
    url = http_link(f.get("url"))
    name = f'<a href="{e(url)}" rel="noopener noreferrer nofollow">{e(f["name"])}</a>' if url else e(f["name"])
    facts = [x for x in (f.get("type"), _size(f.get("size")), f"{f['chars']:,}자" if f.get("chars") else "") if x]
    if f.get("error"):
        facts.append(f'<span class="bad">읽지 못함: {e(f["error"])}</span>')
    elif f.get("note"):
        facts.append(f'<span class="note">{e(f["note"])}</span>')
    return f'<li class="file">{name} <span class="agency">{" · ".join(facts)}</span></li>'


def call_page(row: dict[str, Any], today: date, q: str = "", labels: dict[str, str] | None = None) -> str:
    """The page of one call (a row of Store.call_row)."""
    words = [*query_words(q), *row.get("words", [])]
    link = http_link(row.get("link"))
    title = mark(row.get("title") or "(제목 없음)", words)
    head = f'<a href="{e(link)}" rel="noopener noreferrer nofollow">{title}</a>' if link else title
    deadline = row.get("deadline")
    facts = [e(row.get("source_name") or row.get("source")), e(row.get("agency") or ""),
             f'게시 {e((row.get("published") or row.get("first_seen") or "")[:10])}',
             f'마감 {e(deadline)} ({e(d_day(deadline, today))})' if deadline else "마감 미정"]
    out = [f'<h2 class="call-title">{head}</h2>', f'<p class="agency">{" · ".join(f for f in facts if f)}</p>']
    rules = [f'<span class="rule">{e((labels or {}).get(m["rule"]) or m["rule"])}'
             f'<span class="words">{e(", ".join(m["words"]))}</span></span>' for m in row.get("matched") or []]
    if rules:
        out.append(f'<p class="rules" id="rules">{"".join(rules)}</p>')
    if row.get("summary"):
        out.append(f'<p class="snippet">{mark(row["summary"], words)}</p>')
    reading = row.get("reading")
    if reading is None:
        out.append('<p id="not-read">이 공고는 상세 페이지와 첨부를 읽지 않았습니다 (sources.yaml의 detail 설정).</p>')
        return layout(f"{row.get('title') or '공고'} - 공모사업", "".join(out), "search")
    if reading.get("error"):
        out.append(f'<p class="bad" id="page-error">상세 페이지: {e(reading["error"])}</p>')
    info = reading.get("info") or {}
    lines = [f"<dt>{e(entry[0])}</dt><dd>{mark(entry[1], words)}</dd>" for entry in info.values()
             if isinstance(entry, list | tuple) and len(entry) == 2]
    if lines:
        out.append(f'<dl class="call-info" id="call-info">{"".join(lines)}</dl>')
    if reading.get("body"):
        out.append(f'<h3>본문</h3><div class="calltext" id="body">{_marked(reading["body"], words)}</div>')
    files = reading.get("files") or []
    if files:
        out.append('<h3>첨부</h3><ul class="files" id="files">' + "".join(_file_line(f) for f in files) + "</ul>")
    for n, f in enumerate(files):
        if f.get("text"):
            out.append(f'<details open id="file-{n}"><summary>{e(f["name"])}</summary>'
                       f'<div class="calltext">{_marked(f["text"], words)}</div></details>')
    return layout(f"{row.get('title') or '공고'} - 공모사업", "".join(out), "search")
