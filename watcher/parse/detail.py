"""A call's detail page and the files an API item lists: pure, bytes or plain data in, text and links out.

`read_page(detail, body, content_type, url)` reads the page the announcement links to with the
source's `detail:` selectors (docs/CONFIG.md § detail): `body` -> the call's text, one line per
block element (lines kept: the alert quotes its `접수기간 :` / `지원대상 :` lines); `period` -> the
text of the application period; `files` -> the attachment links, each named by `file_name`
(`@title`, a selector inside the link; default the link's text without its size, `(71KB)`), its
address from `href`, or from a script call (`javascript:fncFileDownload('bbs','a.pdf')`,
`onclick="fn_egov_downFile('FILE_1','0')"`) filled into `file_template`, resolved against the page.
`api_files(detail, item)` -> (name, url) of the files a JSON item lists (`printFlpthNm` /
`printFileNm`; `flpthNm` / `fileNm` joined by `@`; `files: [{file: {fileName, fileUrl}}]`).
`tidy(text)` is how every text of a call is kept: each line as published (white space collapsed,
invisible characters dropped), empty lines dropped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from watcher.models import Detail
from watcher.parse.links import absolute, is_script, link_from_script
from watcher.parse.textclean import clean, markup_safe

MAX_TEXT = 200_000  # characters of a page's or a file's text kept
MAX_LINKS = 50  # attachment links read from one page
_SPEC = re.compile(r"^(?P<sel>.*?)\s*@(?P<attr>[A-Za-z_:][-A-Za-z0-9_:.]*)\s*$", re.S)
_SIZE = re.compile(r"\s*[(\[]\s*\d[\d.,]*\s*(?:[KMG]i?B|bytes?|바이트)\s*[)\]]\s*$", re.I)
_BLOCK = frozenset({"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
                    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
                    "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead",
                    "tr", "ul"})
_FILE_TYPES = frozenset({"hwp", "hwpx", "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "zip", "jpg",
                        "jpeg", "png", "gif", "txt", "hwt"})
_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title"})


@dataclass(frozen=True)
class FileLink:
    name: str
    url: str


@dataclass(frozen=True)
class Page:
    """What a detail page says of its call."""

    body: str = ""
    period: str | None = None
    files: tuple[FileLink, ...] = ()


def tidy(text: str | None, limit: int = MAX_TEXT) -> str:
    """Text kept as published, line by line: each line cleaned (watcher/parse/textclean.py), empty
    lines dropped, at most `limit` characters."""
    if not text:
        return ""
    lines = (clean(line) for line in text.replace("\r", "\n").replace("\f", "\n").split("\n"))
    return "\n".join(line for line in lines if line)[:limit]


def read_page(detail: Detail, body: bytes, content_type: str | None, url: str,
              encoding: str | None = None) -> Page:
    """The call's text, period and attachment links on its detail page (empty where a selector
    matches nothing: a page without a period is still read)."""
    from bs4 import BeautifulSoup  # pages only: a cycle without `detail:` never loads bs4 or lxml

    from watcher.parse.text import decode

    soup = BeautifulSoup(markup_safe(decode(body, content_type, encoding)), "lxml")
    text = tidy("\n".join(block_text(el) for el in _select(soup, detail.body))) if detail.body else ""
    period = None
    if detail.period:
        found = [clean(" ".join(block_text(el).split("\n"))) for el in _select(soup, detail.period)]
        period = next((p for p in found if p), None)
    files = tuple(_links(soup, detail, url)) if detail.files else ()
    return Page(text, period, files)


def block_text(el: Any) -> str:
    """An element's text with a line break around each block element (`<li>`, `<p>`, `<br>`, `<td>`)."""
    from bs4 import CData, NavigableString, Tag

    parts: list[str] = []

    def walk(node: Any) -> None:
        for child in node.children:
            if isinstance(child, Tag):
                if child.name in _SKIP:
                    continue
                block = child.name in _BLOCK
                if block:
                    parts.append("\n")
                walk(child)
                if block:
                    parts.append("\n")
            elif type(child) is NavigableString or isinstance(child, CData):  # not comments, doctypes
                parts.append(str(child))

    walk(el)
    return "".join(parts)


def _select(root: Any, selector: str | None) -> list[Any]:
    if not selector:
        return []
    try:
        return list(root.select(selector))
    except Exception:  # a selector soupsieve cannot run on this page: nothing selected (config checks syntax)
        return []


def _links(soup: Any, detail: Detail, page_url: str) -> Iterable[FileLink]:
    seen: set[str] = set()
    for el in _select(soup, detail.files)[:MAX_LINKS]:
        url = _file_url(el, detail.file_template, page_url)
        if not url or url in seen:
            continue
        seen.add(url)
        yield FileLink(_file_name(el, detail.file_name) or name_from_url(url), url)


def _file_url(el: Any, template: str | None, page_url: str) -> str | None:
    """The link's address: its href, else a script call (href or onclick) filled into `template`."""
    href = el.get("href")
    href = href if isinstance(href, str) else None
    if href and not is_script(href):
        link = absolute(page_url, href)
        if link:
            return link
    if template:
        for script in (href, el.get("onclick")):
            if isinstance(script, str) and is_script(script.strip()):
                link = link_from_script(page_url, script.strip(), template)
                if link:
                    return link
    return None


def _file_name(el: Any, spec: str | None) -> str:
    """The name of the file a link points to, as `file_name` says (default: the link's text)."""
    target, attr = el, None
    if spec:
        m = _SPEC.match(spec)
        selector, attr = (m.group("sel").strip(), m.group("attr")) if m else (spec.strip(), None)
        if selector:
            found = _select(el, selector)
            target = found[0] if found else None
    if target is None:
        return ""
    value = target.get(attr) if attr else target.get_text(" ")
    name = clean(" ".join(value) if isinstance(value, list) else value)
    return _SIZE.sub("", name).strip()


def name_from_url(url: str) -> str:
    """A file name for a link that shows none: the path's last part or a query value that looks like a
    file name (`COM_FILEDOWN.ASP?a=bbs&b=2506.pdf` -> `2506.pdf`), else the last query value."""
    parts = urlsplit(url)
    last = unquote(os.path.basename(parts.path))
    values = [unquote(v) for _, _, v in (p.partition("=") for p in parts.query.split("&")) if v]
    for candidate in (last, *reversed(values)):
        if os.path.splitext(candidate)[1].lower().lstrip(".") in _FILE_TYPES:
            return candidate
    return values[-1] if values else (last or url)


# ---- files an API item lists ----------------------------------------------------------------------

def api_files(detail: Detail | None, item: Any) -> list[tuple[str, str]]:
    """(name, url) of every file the item lists where `detail.api_files` says, in that order, once each."""
    out: list[tuple[str, str]] = []
    for spec in detail.api_files if detail else ():
        entries = _as_list(_walk(item, spec.each)) if spec.each else [item]
        for entry in entries:
            urls, names = _strings(_walk(entry, spec.url)), _strings(_walk(entry, spec.name) if spec.name else None)
            if spec.split:
                urls = [u for raw in urls for u in raw.split(spec.split)]
                names = [n for raw in names for n in raw.split(spec.split)]
            for i, raw in enumerate(urls):
                url = absolute("", raw.strip()) if raw.strip().lower().startswith(("http://", "https://")) else None
                if not url or any(url == known for _, known in out):
                    continue
                name = clean(names[i]) if i < len(names) and names[i].strip() else name_from_url(url)
                out.append((name, url))
    return out


def _walk(data: Any, path: str | None) -> Any:
    value = data
    for step in (path or "").split("."):
        if not step:
            continue
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        elif isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
            value = value[0].get(step)
        else:
            return None
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _strings(value: Any) -> list[str]:
    return [v if isinstance(v, str) else str(v) for v in _as_list(value) if isinstance(v, str | int) and v != ""]
