"""Text from sources made safe for a terminal: control characters and bidi overrides escaped.

A feed can carry ESC sequences (colours, cursor moves, a fake prompt), BEL, NUL, backspaces that
hide text, or U+202E and friends that show text reversed. `term` keeps tab and newline and writes
every other such character visibly as `\\x1b` or `\\u202e`, so what is printed is what was sent.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def term(text: object) -> str:
    """`text` as str with control characters (but tab and newline) and bidi controls escaped."""
    value = "" if text is None else str(text)
    return _UNSAFE.sub(_escape, value) if _UNSAFE.search(value) else value
