"""Extract stage: the text of a call's attachments (HWP 5.x, HWPX, PDF), bounded per file.

`extract(data, name, limits)` -> Result never raises; it reads in a forked child bounded in time,
memory and output, by the type the bytes show (not the name). `pick_attachments(names, limit)`
chooses what to read: 공고문 first, forms never. Readers: hwp.py, hwpx.py, pdf.py; filetype.py types.
Names are imported on first use (`from watcher.extract import choose` does not load PDFium).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "is_form": "choose", "may_give_deadline": "choose", "pick_attachments": "choose", "rank": "choose",
    "read_bytes": "core", "ExtractError": "errors", "Text": "errors", "kind_from_name": "filetype",
    "sniff": "filetype", "Limits": "worker", "Result": "worker", "extract": "worker", "extract_file": "worker",
    "run_bounded": "worker",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
