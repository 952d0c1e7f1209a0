"""YAML's traps for people who do not write YAML every day, said in plain words.

`swallowed(data, text)`: keys left empty because their value began with `#` unquoted
(`channel: #tp-dx` is the key `channel` followed by a comment, so the rule silently used the default
channel). A comment that follows a colon and starts with a non-space character is such a value: a
comment meant as one is written `key:  # words` and a key left empty on purpose is written `key:`.
`plain(...)`: a ruamel.yaml syntax error (`expected <block end>, but found '<block mapping start>'`)
as one sentence about what to change on that line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

_AFTER_KEY = r"^\s*(?:-\s+)*{key}\s*:\s+(#\S.*?)\s*$"


def _line(text_lines: list[str], n: int) -> str:
    return text_lines[n] if 0 <= n < len(text_lines) else ""


def swallowed(data: Any, text: str) -> list[tuple[int, str]]:
    """(line, message) for each key whose unquoted `#value` YAML read as a comment."""
    lines = text.splitlines()
    return sorted(set(_walk(data, lines)))


def _walk(node: Any, lines: list[str]) -> Iterator[tuple[int, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if value is None and isinstance(key, str):
                try:
                    n = node.lc.key(key)[0]  # type: ignore[attr-defined]
                except (AttributeError, KeyError, TypeError):
                    continue
                m = re.match(_AFTER_KEY.format(key=re.escape(key)), _line(lines, n))
                if m:
                    word = m.group(1).split()[0]
                    yield (n + 1, f"'{key}' is empty: an unquoted {word} after '{key}:' is a YAML comment; "
                                  f"quote it: {key}: \"{word}\"")
            else:
                yield from _walk(value, lines)
    elif isinstance(node, list):  # an item `- #x` is reported by the list's own check ("quote it")
        for value in node:
            yield from _walk(value, lines)


# (pattern of ruamel's problem text, plain words); {context_line} is where the enclosing part began
_PLAIN: tuple[tuple[str, str], ...] = (
    (r"found character '\\t' that cannot start any token",
     "a tab character: YAML indents with spaces only, replace the tab with spaces"),
    (r"found character '(.)' that cannot start any token",
     "a value cannot start with '{0}' unquoted: put it in quotes, e.g. \"{0}...\""),
    (r"expected <block end>, but found '<block mapping start>'",
     "this line is indented differently from the lines above it (line {context_line} starts the part it "
     "belongs to): indent it like its neighbours, with spaces"),
    (r"expected <block end>, but found '\?'",
     "this key is indented less than the keys above it (line {context_line} starts the part it belongs "
     "to): indent it like its neighbours, with spaces"),
    (r"expected <block end>, but found '-'",
     "this list item ('- ') is indented differently from the items above it (line {context_line}): "
     "line the dashes up"),
    (r"expected <block end>, but found",
     "this line does not line up with the lines above it (line {context_line} starts the part it "
     "belongs to): check its indentation"),
    (r"did not find expected key",
     "this line does not line up with the keys above it (line {context_line}): check its indentation, "
     "or a quote left open"),
    (r"did not find expected '-' indicator",
     "a list item without '- ', or indented differently from the items above it (line {context_line})"),
    (r"mapping values are not allowed here",
     "a second ': ' on this line: a value that contains ': ' must be quoted, e.g. title: \"a: b\""),
    (r"could not find expected ':'",
     "a line without 'key: value' here (a missing ':' or a quote left open on the line before)"),
    (r"found unexpected end of stream",
     "a quote opened on line {context_line} is never closed: close it with the same quote character"),
    (r"found unknown escape character '(.*?)'",
     "a backslash in a \"double-quoted\" value (\\{0}): write it twice (\\\\{0}) or use 'single quotes'"),
    (r"found undefined alias '?([^']*)'?",
     "'*{0}' refers to an anchor '&{0}' that is not defined above it (a value starting with '*' must be quoted)"),
    (r"found unexpected ':'",
     "an unexpected ':' on this line: quote the value that contains it"),
    (r"expected ',' or '\]', but got",
     "a '[...]' list needs a comma between items and a closing ']' (quote items that contain ',' or ']')"),
    (r"expected ',' or '}', but got",
     "a '{...}' mapping needs a comma between entries and a closing '}'"),
)


def plain(problem: str, context: str | None = None, context_line: int | None = None) -> str:
    """A ruamel.yaml problem -> one sentence about what to change (the problem itself when unknown)."""
    where = str(context_line) if context_line else "?"
    if context and "flow sequence" in context and "never closed" in problem:
        return "a '[' list opened here is never closed with ']'"
    if context and "flow mapping" in context and "never closed" in problem:
        return "a '{' mapping opened here is never closed with '}'"
    for pattern, words in _PLAIN:
        m = re.search(pattern, problem)
        if m:
            words = words.replace("{context_line}", where)
            return words.format(*m.groups()) if m.groups() else words
    return problem
