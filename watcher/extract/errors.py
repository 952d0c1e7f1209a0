"""The one error of the extract stage and the plain result a reader returns."""

from __future__ import annotations

from dataclasses import dataclass


class ExtractError(Exception):
    """A file that cannot be read; str() is one line naming the reader: `hwp: not an HWP 5 file`."""


@dataclass(frozen=True)
class Text:
    """What a reader got out of one file.

    `partial` is True when the text is known to be incomplete (a locked or undecryptable body read through its preview,
    a truncated stream, a cap reached); `note` says why in one line."""

    text: str
    partial: bool = False
    note: str = ""
