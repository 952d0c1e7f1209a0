"""YAML aliases kept within bounds before a config file is loaded.

An alias (`*name`) stands for the whole node its anchor (`&name`) marks, so a few lines of anchors
over anchors (the "billion laughs") stand for billions of nodes: the loader shares them, but every
check that walks the values, every repr and every copy pays for the full expansion (25 s and 3 GB
for one rule's `any`). `alias_problem` reads the file's events once (no tree is built) and counts,
per anchor, the nodes it expands to; a file with more than MAX_ALIASES aliases, or whose aliases
add more than MAX_EXPANDED nodes in all, is refused at the line of the alias that crosses the
bound. Files without `*` (most) are not read twice.
"""

from __future__ import annotations

import functools

MAX_ALIASES = 5_000  # a sources.yaml of 2,000 sources sharing `headers: *common` uses 2,000
MAX_EXPANDED = 200_000  # nodes all aliases stand for together (a whole 2,000-source file is ~40,000)


@functools.lru_cache(maxsize=4)
def alias_problem(text: str) -> tuple[int, str] | None:
    """(1-based line, message) when the aliases of `text` pass the bounds, else None (also for text
    that is not valid YAML: the loader says why)."""
    if "*" not in text:
        return None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        CollectionStartEvent,
        NodeEvent,
    )

    sizes: dict[str, int] = {}  # anchor -> nodes it stands for, expanded
    open_nodes: list[list] = []  # [anchor, nodes so far] of each collection being read
    aliases = expanded = 0
    try:
        for event in YAML(typ="rt").parse(text):
            if isinstance(event, AliasEvent):
                aliases += 1
                size = sizes.get(event.anchor or "", 1)
                expanded += size
                line = event.start_mark.line + 1 if event.start_mark else 1
                if aliases > MAX_ALIASES:
                    return line, f"more than {MAX_ALIASES} YAML aliases: write the values out"
                if expanded > MAX_EXPANDED:
                    return line, (f"YAML alias *{event.anchor} makes the file stand for more than {MAX_EXPANDED:,} "
                                  "values (aliases of aliases): write the values out")
                if open_nodes:
                    open_nodes[-1][1] += size
            elif isinstance(event, CollectionStartEvent):
                open_nodes.append([event.anchor, 1])
            elif isinstance(event, CollectionEndEvent):
                anchor, size = open_nodes.pop()
                if anchor:
                    sizes[anchor] = size
                if open_nodes:
                    open_nodes[-1][1] += size
            elif isinstance(event, NodeEvent):  # a scalar
                if event.anchor:
                    sizes[event.anchor] = 1
                if open_nodes:
                    open_nodes[-1][1] += 1
    except YAMLError:
        return None
    return None
