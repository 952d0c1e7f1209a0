"""`include: [id, ...]` in sources.yaml: catalogue entries (watcher/config/catalog.py) become sources.

Each included id is the catalogue entry's keys under that id; an entry of `sources:` with an included
id is laid over it (its keys win, e.g. `interval: 15m`, `enabled: false`, another `url`; an identity
setting replaces the entry's), so every key of an entry stays overridable. Problems of an included
entry point at the `include:` item, or at the overriding entry and its keys. An unknown id is an
error naming the close ones.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any

from watcher.config.boardkeys import IDENTITY_KEYS
from watcher.config.catalog import entries
from watcher.config.yamlcheck import Ctx, get_str_list, item_line, key_line


class Included(Mapping):  # type: ignore[type-arg]
    """A catalogue entry's keys under its id, with the keys of the sources.yaml entry overriding it
    (whose line numbers, `lc`, are those reported)."""

    def __init__(self, ident: str, settings: Mapping[str, Any], over: Mapping[str, Any] | None) -> None:
        if over and any(over.get(k) is not None for k in IDENTITY_KEYS):  # one identity replaces the other
            settings = {k: v for k, v in settings.items() if k not in IDENTITY_KEYS}
        self._keys = {"id": ident, **settings, **(over or {})}
        self._over = over

    def __getitem__(self, key: str) -> Any:
        return self._keys[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def lc(self) -> Any:
        if self._over is None:
            raise AttributeError("lc")
        return self._over.lc  # type: ignore[attr-defined]


def close_ids(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=3, cutoff=0.6)
    if close:
        return " (did you mean " + " or ".join(f"'{c}'" for c in close) + "?)"
    return " (`watcher sources catalog` lists them)"


def with_included(ctx: Ctx, data: Mapping, seq: list) -> list[tuple[Any, int]]:
    """(source mapping, line) of every source to validate: the included catalogue entries, in the
    order of `include`, each with its overriding entry; then the file's other entries, in order."""
    own = [(item, item_line(seq, i, 1)) for i, item in enumerate(seq)]
    if data.get("include") is None:
        return own
    ids = get_str_list(ctx, data, "include", 1) or ()
    n = key_line(data, "include", 1)
    catalogue = entries()
    chosen: dict[str, int] = {}
    for i, ident in enumerate(ids):
        line = item_line(data["include"], i, n)
        if ident not in catalogue:
            ctx.err(line, f"unknown catalogue id '{ident}'{close_ids(ident, list(catalogue))}")
        elif ident in chosen:
            ctx.err(line, f"'{ident}' is included twice (first at line {chosen[ident]})")
        else:
            chosen[ident] = line
    overrides: dict[str, tuple[Any, int]] = {}
    for item, line in own:
        if isinstance(item, Mapping) and item.get("id") in chosen and item["id"] not in overrides:
            overrides[item["id"]] = (item, line)
    out = []
    for ident, line in chosen.items():
        over, over_line = overrides.get(ident, (None, line))
        out.append((Included(ident, catalogue[ident].settings, over), over_line))
    taken = {id(item) for item, _ in overrides.values()}
    out.extend((item, line) for item, line in own if id(item) not in taken)
    return out
