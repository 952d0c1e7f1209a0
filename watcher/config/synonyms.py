"""rules.yaml `synonyms`: groups of words that stand for each other, optionally named.

Three spellings, which may be mixed in one list (docs/CONFIG.md § synonyms):

    synonyms:
      - [강소특구, 강소연구개발특구]                      # a bare group (no name)
      - name: 특구재단 브랜드                              # a named group
        words: [이노폴리스, INNOPOLIS, 이노폴리스캠퍼스]
    synonyms:                                             # or a mapping: name -> words
      특구재단 브랜드: [이노폴리스, INNOPOLIS]

A name is for people (the file reads as programme knowledge; `rules test --why` names the group a
keyword came through); matching reads only the words. Problems are reported as FILE:LINE.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from watcher.config.yamlcheck import Ctx, check_keys, item_line, key_line, str_items

GROUP_KEYS = ("name", "words")
_HINT = "each synonym group must be a list of strings, e.g. [강소특구, 강소연구개발특구]"

Groups = tuple[tuple[str, ...], ...]
Names = tuple[str | None, ...]


def parse_synonyms(ctx: Ctx, data: Mapping) -> tuple[Groups, Names]:
    """(groups, their names: None for a bare group), in file order."""
    value = data.get("synonyms")
    line = key_line(data, "synonyms", 1)
    if value is None:
        return (), ()
    entries: list[tuple[Any, Any, int, int]] = []  # (name or None, words, line of the name, of the words)
    if isinstance(value, Mapping):
        entries = [(name, words, key_line(value, name, line), key_line(value, name, line))
                   for name, words in value.items()]
    elif isinstance(value, list):
        for i, group in enumerate(value):
            il = item_line(value, i, line)
            if isinstance(group, Mapping):
                check_keys(ctx, group, GROUP_KEYS, il)
                if "words" not in group:
                    ctx.err(il, "a named synonym group needs 'words', e.g. "
                            "{name: 특구재단, words: [특구재단, 특구진흥재단]}")
                    continue
                if group.get("name") is None:
                    ctx.err(il, "a synonym group written as a mapping needs a 'name' (or write it as a list)")
                    continue
                entries.append((group["name"], group["words"], key_line(group, "name", il),
                                key_line(group, "words", il)))
            else:
                entries.append((None, group, il, il))
    else:
        ctx.err(line, "'synonyms' must be a list of groups, or a mapping of group names to lists of words")
        return (), ()
    groups: list[tuple[str, ...]] = []
    names: list[str | None] = []
    seen: dict[str, int] = {}
    for name, words, nl, il in entries:
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                ctx.err(nl, f"a synonym group's name must be text, got {name!r}")
                continue
            name = name.strip()
            if name in seen:
                ctx.err(nl, f"duplicate synonym group name '{name}' (first at line {seen[name]})")
                continue
            seen[name] = nl
        if not isinstance(words, list):
            ctx.err(il, f"synonym group '{name}': its words must be a list of strings" if name else _HINT)
            continue
        parsed = str_items(ctx, words, "synonyms", il)
        if parsed is not None and len(parsed) < 2:
            ctx.err(il, "a synonym group needs at least 2 words" + (f" ('{name}')" if name else ""))
        elif parsed is not None:
            groups.append(parsed)
            names.append(name)
    ctx.flush_unset()
    return tuple(groups), tuple(names)
