"""HTML notice boards: one element per announcement, fields read with CSS selectors.

`source.items` selects the item elements (`table tbody tr`). Each of `source.fields` is a CSS
selector relative to the item, giving the text of the first match; `sel@attr` gives an attribute
instead, and an empty selector (`""`, `@data-id`) means the item itself. Without a mapping, `title`
is the text of the item's first link and `link` its href. Links resolve against the page URL.
Alternatives `a || b` (in `items` or a field) are tried in turn: the first that selects anything
wins, so a board's new markup and its old one can both be read (a CSS list `a, b` would take the
first element in document order instead).

Boards that open posts with script (`<a href="#" onclick="fn_view('123','B01')">`) take one more
field, `link_template`: the arguments of the call fill `{0}`, `{1}`, ... and the result resolves
against the page: `fields: {link: "td.subject a@onclick", link_template: "view.do?idx={0}&bbs={1}"}`.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag
from soupsieve import SelectorSyntaxError

from watcher.errors import ParseError
from watcher.models import Announcement, Source
from watcher.parse.category import is_category
from watcher.parse.item import FIELDS, announcements
from watcher.parse.links import absolute, is_script, link_from_script
from watcher.parse.text import decode
from watcher.parse.textclean import markup_safe

_ATTR = re.compile(r"^(?P<sel>.*?)\s*@(?P<attr>[A-Za-z_:][-A-Za-z0-9_:.]*)\s*$", re.S)
_DEFAULTS = {"title": "a", "link": "a@href"}
TEMPLATE_FIELD = "link_template"


def parse_html(source: Source, body: bytes, content_type: str | None, url: str) -> list[Announcement]:
    if not source.items:
        raise ParseError("no items selector set for an html source")
    text = markup_safe(decode(body, content_type, source.encoding))
    soup = BeautifulSoup(text, "lxml")
    elements = next((found for alt in source.items.split("||") if (found := _select(soup, alt.strip()))), [])
    if not elements:
        raise ParseError(f"selector '{source.items}' matched 0 items")
    fields = {**_DEFAULTS, **{k: v for k, v in source.fields.items() if k in FIELDS or is_category(k)}}
    template = source.fields.get(TEMPLATE_FIELD)
    return announcements(source, url, ((_raw(el, fields, url, template), True) for el in elements))


def _raw(el: Tag, fields: dict[str, str], url: str, template: str | None) -> dict[str, str | None]:
    raw = {field: _value(el, spec) for field, spec in fields.items() if field != "link"}
    raw["link"] = _link(el, fields["link"], url, template)
    return raw


def _link(item: Tag, spec: str, url: str, template: str | None) -> str | None:
    """The item's link: an href resolved against the page, or a script call filled into the
    template: the selected value when it is a call, else the element's onclick or javascript: href."""
    el, attr = _find(item, spec)
    if el is None:
        return None
    value = _read(el, attr)
    if value and not is_script(value):
        link = absolute(url, value)
        if link or not template:
            return link
    if not template:
        return None
    for script in (value, el.get("onclick"), el.get("href")):
        if isinstance(script, str) and is_script(script):
            link = link_from_script(url, script, template)
            if link:
                return link
    return None


def _select(root: Tag, selector: str) -> list[Tag]:
    try:
        return root.select(selector)
    except (SelectorSyntaxError, ValueError) as err:
        raise ParseError(f"bad CSS selector '{selector}': {' '.join(str(err).split())[:120]}") from None


def _find(item: Tag, spec: str) -> tuple[Tag | None, str | None]:
    """(first element `sel` selects inside `item`, or item itself for an empty sel; attr or None).
    `a || b`: the alternatives in turn, the first that selects an element wins."""
    for alternative in spec.split("||"):
        m = _ATTR.match(alternative)
        selector, attr = (m.group("sel").strip(), m.group("attr")) if m else (alternative.strip(), None)
        el = _select_one(item, selector) if selector else item
        if el is not None:
            return el, attr
    return None, None


def _read(el: Tag, attr: str | None) -> str | None:
    if attr is None:
        return el.get_text(" ")
    value = el.get(attr)
    return " ".join(value) if isinstance(value, list) else value


def _value(item: Tag, spec: str) -> str | None:
    """Text (or attribute, `sel@attr`) of the first element `sel` selects inside `item`."""
    el, attr = _find(item, spec)
    return None if el is None else _read(el, attr)


def _select_one(root: Tag, selector: str) -> Tag | None:
    try:
        return root.select_one(selector)
    except (SelectorSyntaxError, ValueError) as err:
        raise ParseError(f"bad CSS selector '{selector}': {' '.join(str(err).split())[:120]}") from None
