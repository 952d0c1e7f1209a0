"""The one edge function every string from a source passes: valid text, as the source published it.

`clean(s)`: character references decoded (`&amp;`, `&#40;`, `&apos;`; `AT&T` and `R&D` stay), runs of
white space (NBSP and U+3000 included) made one space, the ends stripped; invisible characters
dropped (zero-width space/joiners, BOM, soft hyphen, word joiner, bidi controls, Hangul fillers);
control characters dropped (tab and newline are white space, so they become a space); lone
surrogates and non-characters replaced by U+FFFD, so the text always encodes as UTF-8. Nothing else
changes: no NFKC (`ㅇ 접수기간`, `ㅣ`, `①`, `…`, `ㆍ` stay as written). NFKC, middle-dot and case
folds belong to matching (match.normalize) and the search index (search.normalize) only.

`valid(s)`: only the last two steps, for values that are not prose (links, ids).
`markup_safe(s)`: a whole XML/HTML document made parseable before parsing: references to code points
no text may hold (`&#xD800;`, `&#0;`, beyond U+10FFFF) become `&#xFFFD;`, references to and raw
control characters go, lone surrogates become U+FFFD; one bad item then costs only its characters.
"""

from __future__ import annotations

import html
import re

# `&name;`, `&#NN;`, `&#xHH;` only: a bare `&` (`R&D`, `AT&T`) is text
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# control characters other than white space; white space controls (\t \n \v \f \r \x1c-\x1f \x85)
# are collapsed to one space by str.split instead
_CONTROL = "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
# invisible: soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width space/non-joiner,
# LRM/RLM, bidi embeddings and isolates, word joiner and invisible operators, BOM, Hangul fillers,
# interlinear annotation marks. ZWJ (U+200D) is handled apart: it joins emoji (👩‍💻), elsewhere it goes.
_INVISIBLE = ("\u00ad\u061c\u180e\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
              "\ufeff\u3164\uffa0\ufff9-\ufffb")
_DROP = re.compile(f"[{_CONTROL}{_INVISIBLE}]|\u200d(?![\U0001f000-\U0001faff\u2600-\u27bf])")
# lone surrogates (from JSON "\\ud83d" or a broken decoder) and non-characters: not valid text
_INVALID = re.compile("[\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff\U0001fffe\U0001ffff\U0010fffe\U0010ffff]")
_REPLACEMENT = "\ufffd"
_NUMERIC_REF = re.compile(r"&#(?:([0-9]{1,10})|[xX]([0-9a-fA-F]{1,8}));")
_RAW_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def _entity(m: re.Match[str]) -> str:
    return html.unescape(m.group(0))  # HTML5 rules: `&#xD800;` and `&#0;` become U+FFFD


def _numeric_ref(m: re.Match[str]) -> str:
    code = int(m.group(1)) if m.group(1) else int(m.group(2), 16)
    if code in (0x9, 0xA, 0xD) or 0x20 <= code < 0xD800 or 0xE000 <= code <= 0x10FFFF and code not in (0xFFFE, 0xFFFF):
        return m.group(0)
    return "" if code < 0x20 else "&#xFFFD;"


def markup_safe(s: str) -> str:
    """A document with every character reference and character an XML parser accepts (see above)."""
    if "&#" in s:
        s = _NUMERIC_REF.sub(_numeric_ref, s)
    if _RAW_CONTROL.search(s):
        s = _RAW_CONTROL.sub(lambda m: "" if m.group() < " " else _REPLACEMENT, s)
    return s


def valid(s: str | None) -> str:
    """`s` with control and invisible characters dropped, lone surrogates and non-characters U+FFFD."""
    if not s:
        return ""
    if s.isascii():
        return _DROP.sub("", s) if not s.isprintable() else s
    s = _DROP.sub("", s)
    return _INVALID.sub(_REPLACEMENT, s)


def clean(s: str | None) -> str:
    """Text as published, valid and on one line: entities decoded, white space collapsed, invisible
    and control characters dropped, unencodable code points U+FFFD. No other change (no NFKC)."""
    if not s:
        return ""
    if "&" in s:
        s = _ENTITY.sub(_entity, s)
    return " ".join(valid(s).split())
