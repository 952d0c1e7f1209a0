"""Fast path for well-formed RSS 2.0 / 0.91-0.94, RSS 1.0 and Atom 1.0 feeds, read with lxml.

feedparser spends ~0.7 ms per entry in Python SAX callbacks; lxml reads the same feed ~40x
faster, which matters in a cycle over hundreds of feeds. This module reads entries as feedparser
would (same elements, same fallbacks: guid as link, description before content:encoded, Atom
rel=alternate links, xml:base) and returns None for anything it is not sure about: a body that
is not well-formed XML, a DOCTYPE (entities), another root. feed.py then asks feedparser, so
broken and odd feeds keep feedparser's tolerance. tests/test_parse_feed.py checks that both
paths give the same announcements on every fixture.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
RSS1 = "http://purl.org/rss/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
_PREFIXES = {"dc": DC, "dcterms": DCTERMS, "content": CONTENT, "atom": ATOM, "rdf": RDF}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

Raw = dict[str, str | None]


def read_entries(data: bytes, fields: dict[str, str]) -> list[tuple[Raw, bool]] | None:
    """(raw fields, title_is_text) per entry, or None to let feedparser read the feed."""
    try:
        root = etree.fromstring(data, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root.getroottree().docinfo.doctype:
        return None
    tag = root.tag
    if tag == "rss":
        channel = root.find("channel")
        if channel is None:
            return None
        return [_rss_entry(item, fields, None) for item in channel.iterfind("item")]
    if tag == f"{{{ATOM}}}feed":
        return [_atom_entry(entry, fields) for entry in root.iterfind(f"{{{ATOM}}}entry")]
    if tag == f"{{{RDF}}}RDF":
        return [_rss_entry(item, fields, RSS1) for item in root.iterfind(f"{{{RSS1}}}item")]
    return None


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    return "".join(el.itertext())


def _child(item: etree._Element, *tags: str) -> str | None:
    """Text of the first of `tags` present with non-empty text."""
    for tag in tags:
        for el in item.iterfind(tag):
            text = _text(el)
            if text and text.strip():
                return text
    return None


def _map_fields(raw: Raw, fields: dict[str, str], lookup: Callable[[str], str | None]) -> None:
    """raw[field] for each `source.fields` entry; id/title/link/summary as read above, with their
    fallbacks (feedparser files a permalink guid as the link, content as the summary)."""
    base = dict(raw)
    for field, name in fields.items():
        key = name.strip().lower()
        key = ALIASES.get(key, key)
        raw[field] = base[key] if key in _READ else lookup(key)


_READ = frozenset({"id", "title", "link", "summary"})


# -- RSS 2.0 / 0.9x and RSS 1.0 -----------------------------------------------------------------


def _rss_entry(item: etree._Element, fields: dict[str, str], ns: str | None) -> tuple[Raw, bool]:
    def q(name: str) -> str:
        return f"{{{ns}}}{name}" if ns else name

    guid_el = item.find(q("guid"))
    guid = _text(guid_el)
    guid = guid.strip() if guid else None
    if ns == RSS1 and not guid:
        guid = item.get(f"{{{RDF}}}about")
    elif guid and guid_el is not None and guid_el.base and guid_el.get("isPermaLink", "true") == "true":
        guid = urljoin(guid_el.base, guid)  # as feedparser: a permalink guid under xml:base
    link = _child(item, q("link"))
    if not link and guid and guid_el is not None and guid_el.get("isPermaLink", "true") == "true":
        link = guid  # a permalink guid stands in for a missing <link>
    raw: Raw = {
        "id": guid,
        "title": _child(item, q("title"), f"{{{DC}}}title"),
        "link": link.strip() if link else None,
        "summary": _child(item, q("description"), f"{{{CONTENT}}}encoded"),
        "published": _child(item, q("pubDate"), f"{{{DCTERMS}}}issued", f"{{{DC}}}date",
                            f"{{{DCTERMS}}}modified", f"{{{DCTERMS}}}created"),
    }
    _map_fields(raw, fields, lambda key: _rss_field(item, key, q))
    return raw, False


# names as written in sources.yaml -> the entry key feedparser files them under (feed.py uses it too)
ALIASES = {"dc:creator": "author", "dc:date": "updated", "pubdate": "published", "guid": "id",
           "description": "summary", "dc:subject": "category", "content:encoded": "content"}
_RSS_KEYS = {
    "author": ("author", f"{{{DC}}}creator"),
    "summary": ("description", f"{{{CONTENT}}}encoded"),
    "content": (f"{{{CONTENT}}}encoded",),
    "published": ("pubDate", f"{{{DCTERMS}}}issued"),
    "updated": (f"{{{DC}}}date", f"{{{DCTERMS}}}modified"),
    "created": (f"{{{DCTERMS}}}created",),
    "id": ("guid",),
    "title": ("title", f"{{{DC}}}title"),
    "link": ("link",),
}


def _rss_field(item: etree._Element, key: str, q: Callable[[str], str]) -> str | None:
    """Element `key` (lower case, aliases applied) of an RSS item."""
    if key == "category":
        terms = [_text(el) for el in item.iterfind(q("category"))]
        terms += [_text(el) for el in item.iterfind(f"{{{DC}}}subject")]
        return ", ".join(t.strip() for t in terms if t and t.strip()) or None
    tags = _RSS_KEYS.get(key)
    if tags:
        return _child(item, *(t if t.startswith("{") else q(t) for t in tags))
    return _by_name(item, key)


def _by_name(item: etree._Element, key: str) -> str | None:
    """Child element named `key` (`appdue`, `ntis:appdue`, `dc:rights`), case-insensitively."""
    prefix, _, local = key.rpartition(":")
    uri = _PREFIXES.get(prefix)
    for el in item:
        if not isinstance(el.tag, str):
            continue
        qname = etree.QName(el)
        if qname.localname.lower() != local:
            continue
        if prefix and qname.namespace != uri and (el.prefix or "").lower() != prefix:
            continue
        text = _text(el)
        if text and text.strip():
            return text
    return None


# -- Atom 1.0 ----------------------------------------------------------------------------------


def _atom_entry(entry: etree._Element, fields: dict[str, str]) -> tuple[Raw, bool]:
    title_el = entry.find(f"{{{ATOM}}}title")
    summary_el = entry.find(f"{{{ATOM}}}summary")
    if summary_el is None or not (_atom_text(summary_el) or "").strip():
        summary_el = entry.find(f"{{{ATOM}}}content")
    raw: Raw = {
        "id": _atom_id(entry),
        "title": _atom_text(title_el),
        "link": _atom_link(entry),
        "summary": _atom_text(summary_el),
        "published": _child(entry, f"{{{ATOM}}}published", f"{{{ATOM}}}updated"),
    }
    _map_fields(raw, fields, lambda key: _atom_field(entry, key))
    title_is_text = title_el is None or title_el.get("type", "text") == "text"
    return raw, title_is_text


def _atom_id(entry: etree._Element) -> str | None:
    el = entry.find(f"{{{ATOM}}}id")
    value = (_text(el) or "").strip()
    if not value:
        return None
    return urljoin(el.base, value) if el.base else value  # as feedparser, under xml:base


def _atom_text(el: etree._Element | None) -> str | None:
    """Text of an Atom text construct; `xhtml` content is serialised so html_to_text sees blocks."""
    if el is None:
        return None
    if el.get("type") == "xhtml":
        parts = [etree.tostring(child, encoding="unicode", with_tail=True) for child in el]
        return (el.text or "") + "".join(parts)
    return el.text or ""


def _atom_link(entry: etree._Element) -> str | None:
    links = entry.findall(f"{{{ATOM}}}link")
    chosen = next((ln for ln in links if ln.get("rel", "alternate") == "alternate" and ln.get("href")), None)
    if chosen is None:
        return None
    href = chosen.get("href", "").strip()
    base = chosen.base  # xml:base in scope, if any
    return urljoin(base, href) if base else href


def _atom_field(entry: etree._Element, key: str) -> str | None:
    """Element `key` (lower case, aliases applied) of an Atom entry."""
    if key == "author":
        return _child(entry, f"{{{ATOM}}}author/{{{ATOM}}}name", f"{{{DC}}}creator")  # the first, as feedparser
    if key == "category":
        terms = [el.get("term", "").strip() for el in entry.iterfind(f"{{{ATOM}}}category")]
        return ", ".join(t for t in terms if t) or None
    if key in ("summary", "content", "title"):
        return _atom_text(entry.find(f"{{{ATOM}}}{key}"))
    if key == "id":
        return _atom_id(entry)
    if key == "link":
        return _atom_link(entry)
    if key in ("published", "updated", "rights"):
        return _child(entry, f"{{{ATOM}}}{key}")
    return _by_name(entry, key)
