"""Text helpers shared by the parsers: charset decoding, HTML to plain text (through textclean.clean).

Decoding order (`decode`): a byte-order mark; else bytes that are valid UTF-8 are UTF-8 whatever
the label says (korea.kr labelled UTF-8 `us-ascii`; Korean text in CP949 is never valid UTF-8);
else the label from the HTTP header, else from the XML declaration / HTML `<meta>`; Korean labels
(`euc-kr`, `ks_c_5601-1987`, `x-windows-949`, ...) always decode as CP949, the superset servers
really send. A document no label fits is tried as CP949, then decoded as UTF-8 with replacement.
"""

from __future__ import annotations

import codecs
import html
import re

from lxml import etree

from watcher.parse.textclean import clean

_KOREAN_LABELS = frozenset(
    {"euc-kr", "euc_kr", "euckr", "x-euc-kr", "ks_c_5601-1987", "ks_c_5601", "ksc5601", "ksc_5601",
     "ks-c-5601", "ks-c-5601-1987", "korean", "cp949", "ms949", "x-windows-949", "windows-949",
     "uhc", "csksc56011987", "iso-ir-149"}
)
_WIDE = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})
# labels whose text is only ASCII or Western: a Korean server using them is mislabelling
_WESTERN = frozenset({"ascii", "iso8859-1", "cp1252"})

_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.I)
_XML_DECL_CHARSET = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# known HTML tags only, so `<AI 바우처> 공고` in a plain title is not taken for markup
_TAG = re.compile(
    r"<(?:/?(?:a|abbr|address|article|aside|b|big|blockquote|body|br|center|code|col|colgroup|dd|del|"
    r"div|dl|dt|em|figcaption|figure|font|footer|form|h[1-6]|head|header|hr|html|i|iframe|img|input|"
    r"ins|label|li|link|main|meta|nav|noscript|o:p|ol|p|pre|s|script|section|small|span|strike|strong|"
    r"style|sub|sup|table|tbody|td|template|tfoot|th|thead|title|tr|u|ul)(?=[\s/>])[^<>]*|!--.*?--)>",
    re.S | re.I,
)
_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
     "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
     "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"}
)
# HTML read per string: libxml2 drops text nodes past 10 MB, so past this much we keep the beginning
MAX_HTML = 2_000_000
_DEEP = 255  # libxml2's nesting limit: text below it is dropped, so a document this deep is also stripped
_SCRIPTS = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>", re.S | re.I)
_HTML_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, default_doctype=False)
_DROP_TAGS = frozenset({"script", "style", "head", "title", "noscript", "template"})


def normalise_label(label: str | None) -> str | None:
    """Python codec name for a charset label, Korean labels as cp949; None when unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _KOREAN_LABELS:
        return "cp949"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def charset_of(declared: str | None) -> str | None:
    """The charset in a Content-Type value (`text/xml; charset=euc-kr`) or a bare label."""
    if not declared:
        return None
    if "=" in declared or "/" in declared or ";" in declared:
        m = _HEADER_CHARSET.search(declared)
        return m.group(1) if m else None
    return declared.strip()


def sniff_charset(body: bytes) -> str | None:
    """Charset named inside the document: XML declaration or HTML <meta> (first 4 KB)."""
    m = _XML_DECL_CHARSET.match(body, 0, 512) or _META_CHARSET.search(body, 0, 4096)
    return m.group(1).decode("ascii") if m else None


def _utf8(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        # a body cut off in the middle of its last character is still UTF-8, when the rest
        # shows UTF-8 multi-byte characters
        if err.reason == "unexpected end of data" and err.start >= len(body) - 3:
            head = body[: err.start].decode("utf-8")
            if not head.isascii():
                return head
        return None


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode(body: bytes, declared: str | None = None, forced: str | None = None) -> str:
    """Bytes -> text. `declared`: the HTTP charset (or whole Content-Type); `forced`: source.encoding."""
    if forced:
        return body.decode(normalise_label(forced) or "utf-8", "replace")
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, "replace")
    label = normalise_label(charset_of(declared)) or normalise_label(sniff_charset(body))
    if label not in _WIDE:
        text = _utf8(body)
        if text is not None:
            return text
    if label and label not in _WESTERN:
        text = _strict(body, label)
        if text is not None:
            return text
    text = _strict(body, "cp949")
    if text is not None:
        return text
    if label:
        text = _strict(body, label)
        if text is not None:
            return text
    return body.decode("utf-8", "replace")


def _unescape_entity(m: re.Match[str]) -> str:
    return html.unescape(m.group(0))


def clean_text(s: str | None) -> str:
    """The edge function (watcher/textclean.py): entities decoded, white space collapsed, invisible
    and control characters dropped, lone surrogates U+FFFD; no NFKC, the text stays as published."""
    return clean(s)


def looks_like_html(s: str) -> bool:
    return "<" in s and _TAG.search(s) is not None


def html_to_text(s: str | None) -> str:
    """HTML -> one line of plain text: tags removed, block elements become spaces, then clean_text.

    HTML that arrives escaped (`&lt;p&gt;` inside JSON strings) is unescaped and stripped too.
    Bounded (the first MAX_HTML characters), never empty for a huge or deeply nested document:
    when libxml2 gives up on it, tags are stripped by pattern instead.
    """
    if not s:
        return ""
    s = s[:MAX_HTML]
    if not looks_like_html(s):
        if "&" not in s:
            return clean_text(s)
        unescaped = _ENTITY.sub(_unescape_entity, s)  # HTML sent escaped: `&lt;p&gt;...`
        if not looks_like_html(unescaped):
            return clean_text(s)
        s = unescaped
    text = _lxml_text(s)
    if s.count("<") > _DEEP or not text:  # nesting past libxml2's limit loses text: strip by pattern
        stripped = clean_text(_TAG.sub(" ", _SCRIPTS.sub(" ", s)))
        if len(stripped) > len(text) + len(text) // 10:
            return stripped
    return text


def _lxml_text(s: str) -> str:
    try:
        root = etree.fromstring(s, _HTML_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        root = None
    if root is None:
        return clean_text(_TAG.sub(" ", s))
    parts: list[str] = []
    walker = etree.iterwalk(root, events=("start", "end", "comment", "pi"))
    for event, el in walker:
        if event == "start":
            if el.tag in _DROP_TAGS:
                walker.skip_subtree()  # its "end" event still comes and adds the tail
                continue
            if el.tag in _BLOCK_TAGS:
                parts.append(" ")
            if el.text:
                parts.append(el.text)
            continue
        if event == "end" and el.tag in _BLOCK_TAGS:
            parts.append(" ")
        if el.tail and el is not root:
            parts.append(el.tail)
    return clean_text("".join(parts))
