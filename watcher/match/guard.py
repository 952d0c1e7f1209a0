"""`re:` keywords kept from freezing the watcher: refused by `check` when their shape can take
exponential time, and bounded in time when they run all the same.

- `regex_problem`: a quantified group that holds another variable quantifier (`(\\w+\\s*)+`,
  `(a*)*`, `(x+y?){2,}`) backtracks exponentially on a text that almost matches; `check` refuses it
  and says how to write it (a possessive quantifier `++`, or an atomic group `(?>...)`).
- `Bounded`: what a `re:` keyword is compiled to. Python's `re` holds the GIL for a whole search, so
  one bad pattern froze every thread of `run` (no polls, no deliveries, no SIGTERM). A Bounded
  pattern searches with the `regex` module (the same syntax as `re`, version 0), which releases the
  GIL while it searches and stops at a CPU-time limit: the item's budget (`item`, ITEM_SECONDS,
  WATCHER_MATCH_TIMEOUT) or, outside an item, ITEM_SECONDS per search. A search that runs out counts as
  no match; the keyword and the item are recorded (`timeouts`, then the store: `watcher status`
  names the rule), and a keyword that ran out STRIKES times is not searched again by this process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

ITEM_SECONDS = 0.5  # CPU seconds of regex search one announcement may cost (WATCHER_MATCH_TIMEOUT)
STRIKES = 3  # timeouts after which a keyword is no longer searched by this process

_local = threading.local()  # .budget: [seconds left] of the item being matched in this thread
_lock = threading.Lock()
_strikes: dict[str, int] = {}
_timeouts: list[Timeout] = []


@dataclass(frozen=True)
class Timeout:
    keyword: str  # as written in rules.yaml (`re:...`)
    item: tuple[str, str, str] | None  # (source, id, title) of the announcement, when known
    skipped: bool = False  # not searched: the keyword had run out STRIKES times already


def item_seconds() -> float:
    try:
        return max(0.01, float(os.environ.get("WATCHER_MATCH_TIMEOUT", "") or ITEM_SECONDS))
    except ValueError:
        return ITEM_SECONDS


def regex_problem(pattern: str, flags: int = 0) -> str | None:
    """Why a `re:` pattern may take exponential time, else None: a repeated group holding another
    variable quantifier, unless each of its repetitions must pass a literal character that none of
    its variable parts can match (`(\\s*-\\s*\\d+)*` is safe: the `-` splits them one way only;
    `(\\w+\\s*)+` and `(.*a){12}` are not)."""
    try:
        from re import _constants as sre
        from re import _parser

        tree = _parser.parse(pattern, flags)
    except Exception:  # invalid (the compile says why) or a private module changed: nothing to add
        return None
    repeats = (sre.MAX_REPEAT, sre.MIN_REPEAT)

    def variables(items: Any) -> list[Any]:
        """The variable repeats anywhere in `items` (possessive ones and atomic groups never backtrack)."""
        found = []
        for op, av in items:
            if op in repeats:
                if av[0] != av[1]:
                    found.append(av[2])
                found += variables(av[2])
            elif op is sre.SUBPATTERN:
                found += variables(av[3])
            elif op is sre.BRANCH:
                for alt in av[1]:
                    found += variables(alt)
        return found

    def separated(body: Any) -> bool:
        """Does every repetition of `body` pass a literal that its variable parts cannot match?"""
        inner = variables(body)
        return any(not any(_can_match(item, char, flags, sre) for item in inner) for char in mandatory(body))

    def mandatory(items: Any) -> list[str]:
        """The literal characters every match of `items` passes (groups entered, alternatives not)."""
        found = []
        for op, av in items:
            if op is sre.LITERAL:
                found.append(chr(av))
            elif op is sre.SUBPATTERN:
                found += mandatory(av[3])
            elif op in repeats and av[0] >= 1:
                found += mandatory(av[2])
        return found

    def walk(items: Any) -> bool:
        for op, av in items:
            if op in repeats:
                body = av[2]
                if av[0] != av[1] and av[1] > 1 and variables(body) and not separated(body):
                    return True
                if walk(body):
                    return True
            elif op is sre.SUBPATTERN and walk(av[3]):
                return True
            elif op is sre.BRANCH and any(walk(alt) for alt in av[1]):
                return True
        return False

    if walk(tree):
        return ("nested quantifiers (a repeated group holding another +, * or {m,n}) can take exponential "
                "time on some titles; make the inner or outer one possessive (`++`, `*+`) or use an atomic "
                "group (?>...)")
    return None


def _can_match(items: Any, char: str, flags: int, sre: Any) -> bool:
    """Can the repeated `items` (one repetition of a variable repeat) match `char`? True when unsure."""
    import re

    if len(items) != 1:
        return True
    op, av = items[0]
    if op is sre.LITERAL:
        return re.fullmatch(re.escape(chr(av)), char, flags) is not None
    if op is sre.NOT_LITERAL:
        return re.fullmatch(re.escape(chr(av)), char, flags) is None
    if op is sre.ANY:
        return char != "\n" or bool(flags & re.S)
    if op is not sre.IN:
        return True
    categories = {sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_NOT_DIGIT: r"\D", sre.CATEGORY_SPACE: r"\s",
                  sre.CATEGORY_NOT_SPACE: r"\S", sre.CATEGORY_WORD: r"\w", sre.CATEGORY_NOT_WORD: r"\W"}
    parts = []
    for kind, value in av:
        if kind is sre.NEGATE:
            parts.insert(0, "^")
        elif kind is sre.LITERAL:
            parts.append(re.escape(chr(value)))
        elif kind is sre.RANGE:
            parts.append(f"{re.escape(chr(value[0]))}-{re.escape(chr(value[1]))}")
        elif kind is sre.CATEGORY and value in categories:
            parts.append(categories[value])
        else:
            return True
    return re.fullmatch("[" + "".join(parts) + "]", char, flags) is not None


class Bounded:
    """A `re:` keyword's pattern: `pattern` and `flags` as `re` reads them (for the matcher's scanner),
    `search` by the `regex` module within the time left (see the module docstring)."""

    def __init__(self, keyword: str, pattern: str, flags: int) -> None:
        import regex

        self.keyword, self.pattern, self.flags = keyword, pattern, flags
        self._compiled = regex.compile(pattern, regex.V0 | (regex.IGNORECASE if flags & 2 else 0))

    def search(self, text: str, pos: int = 0) -> Any:
        budget = getattr(_local, "budget", None)
        left = budget[0] if budget is not None else item_seconds()
        with _lock:
            struck = _strikes.get(self.keyword, 0) >= STRIKES
        if struck or left <= 0:
            _record(self.keyword, skipped=True)
            return None
        import time

        started = time.process_time()
        try:
            return self._compiled.search(text, pos, timeout=left, concurrent=True)
        except TimeoutError:
            with _lock:
                _strikes[self.keyword] = _strikes.get(self.keyword, 0) + 1
            _record(self.keyword)
            return None
        finally:
            if budget is not None:
                budget[0] -= time.process_time() - started

    def __reduce__(self) -> tuple[Any, ...]:
        return Bounded, (self.keyword, self.pattern, self.flags)


def _record(keyword: str, skipped: bool = False) -> None:
    item = getattr(_local, "item", None)
    with _lock:
        if len(_timeouts) < 10_000:
            _timeouts.append(Timeout(keyword, item, skipped))


@contextmanager
def item(ann: Any) -> Iterator[None]:
    """Match one announcement within its budget; timeouts are recorded against it."""
    _local.budget, _local.item = [item_seconds()], (ann.source, ann.id, ann.title)
    try:
        yield
    finally:
        _local.budget = _local.item = None


def match(matcher: Any, ann: Any) -> list[Any]:
    """matcher.match(ann) within the announcement's time budget."""
    with item(ann):
        return matcher.match(ann)


def timeouts() -> list[Timeout]:
    """The timeouts recorded by this process since the last call (and forgets them)."""
    with _lock:
        out = list(_timeouts)
        _timeouts.clear()
    return out


def add(found: list[Timeout]) -> None:
    """Timeouts a forked worker sent back, recorded here."""
    with _lock:
        _timeouts.extend(found)
        for t in found:
            if not t.skipped:
                _strikes[t.keyword] = _strikes.get(t.keyword, 0) + 1
