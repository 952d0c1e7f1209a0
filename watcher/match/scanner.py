"""The regexes Matcher builds its one-pass scanner from (watcher/match.py `_plan`): pure.

`trie_pattern` finds any of many space-free forms in one search; `regex_anchors` tells which
literals every match of a `re:` keyword contains, so the scanner can find where it may match.
"""

from __future__ import annotations

import re
from typing import Any

_WS = re.compile(r"\s+")


def trie_pattern(words: list[str]) -> str:
    """One regex finding any of `words` with white space allowed between letters, preferring
    the longest word at each position (a trie: longer continuations are tried first)."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}  # end of a word

    def emit(node: dict[str, dict], first: bool) -> str:
        branches = [("" if first else r"\s*") + re.escape(ch) + emit(child, False)
                    for ch, child in node.items() if ch]
        if "" in node:
            branches.append("")
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    return emit(trie, True)


def regex_anchors(pattern: re.Pattern[str]) -> list[str] | None:
    """Space-free, case-folded literals one of which every match of `pattern` contains, or None
    when none can be told (the regex is then searched on every text)."""
    try:
        from re import _constants as sre
        from re import _parser

        tree = _parser.parse(pattern.pattern, pattern.flags)
    except Exception:  # a private module: if it changes, do without anchors
        return None

    def better(a: set[str], b: set[str] | None) -> bool:
        return b is None or (min(map(len, a)), -len(a)) > (min(map(len, b)), -len(b))

    def required(items: Any) -> set[str] | None:
        best: set[str] | None = None
        run: list[str] = []
        for op, av in [*items, (None, None)]:
            if op is sre.LITERAL:
                run.append(chr(av))
                continue
            word = _WS.sub("", "".join(run)).lower()
            run = []
            if word and all(ch.isascii() or ch.lower() == ch.upper() for ch in word):
                best = {word} if better({word}, best) else best
            inner: set[str] | None = None
            if op is sre.SUBPATTERN:
                inner = required(av[3])
            elif op is sre.ATOMIC_GROUP:
                inner = required(av)
            elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
                inner = required(av[2])
            elif op is sre.BRANCH:
                alternatives = [required(alt) for alt in av[1]]
                if all(alternatives):
                    inner = set().union(*alternatives)  # type: ignore[arg-type]
            if inner and better(inner, best):
                best = inner
        return best

    found = required(tree)
    return sorted(found) if found else None
