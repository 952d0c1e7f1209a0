"""Scoring a rules file on a labelled corpus: precision and recall per rule with a 95% Wilson interval,
and every wrong verdict. Shared by tests/test_rules_corpus.py (tuning corpora) and
tests/test_rules_heldout.py (the frozen held-out batch the README states).

A corpus file is YAML: a list of items, or `{items: [...]}`. An item has `title`, optionally `summary`,
`agency` and `category` (the structured fields the source gives, see docs/CONFIG.md), `labels` (rule
names that should fire; `[]` for a quiet item), and its provenance (`from` or `provenance`).
"""

from __future__ import annotations

import math
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from watcher.config.load import load_rules
from watcher.match.matcher import Matcher
from watcher.models import Announcement

Z95 = 1.959964


@dataclass(frozen=True)
class Labelled:
    ann: Announcement
    labels: frozenset[str]
    raw: dict


@dataclass(frozen=True)
class Wrong:
    kind: str  # "missed" (a label the rule did not fire for) or "false alarm"
    rule: str
    title: str
    keywords: tuple[str, ...] = ()  # for a false alarm: the keywords that fired


@dataclass(frozen=True)
class Counts:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of k successes in n trials ((0, 1) for n = 0)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, centre - half), min(1.0, centre + half)


def load_corpus(path: Path, labels_key: str = "labels") -> list[Labelled]:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    items = data["items"] if isinstance(data, dict) else data
    out = []
    for i, item in enumerate(items):
        ann = Announcement(source=item.get("kind", item.get("source", "corpus")), id=str(i), title=item["title"],
                           link=None, summary=item.get("summary") or "", agency=item.get("agency"),
                           category=item.get("category") or "")
        out.append(Labelled(ann, frozenset(item.get(labels_key) or ()), item))
    return out


def matcher_of(rules: Path) -> Matcher:
    return Matcher(load_rules(rules, None, env={}))


def score(matcher: Matcher, items: list[Labelled]) -> tuple[dict[str, Counts], list[Wrong]]:
    """Per rule of the matcher (in rules.yaml order) its counts, and every wrong verdict in corpus order."""
    names = matcher.rule_names
    counts = {name: [0, 0, 0] for name in names}
    wrong: list[Wrong] = []
    for item in items:
        got = {hit.rule: hit.keywords for hit in matcher.match(item.ann)}
        for name in names:
            if name in got and name in item.labels:
                counts[name][0] += 1
            elif name in got:
                counts[name][1] += 1
                wrong.append(Wrong("false alarm", name, item.ann.title, got[name]))
            elif name in item.labels:
                counts[name][2] += 1
                wrong.append(Wrong("missed", name, item.ann.title))
    return {name: Counts(*c) for name, c in counts.items()}, wrong


def _intervals(c: Counts) -> tuple[float, float, float, float]:
    """The 95% Wilson intervals of precision and recall: (p low, p high, r low, r high)."""
    return (*wilson(c.tp, c.tp + c.fp), *wilson(c.tp, c.tp + c.fn))


def figures_table(counts: dict[str, Counts]) -> list[str]:
    """The README's table of one scoring: per rule precision and recall, each with its 95% interval."""
    lines = ["| rule | precision | 95% interval | recall | 95% interval | tp | fp | fn |",
             "|---|---|---|---|---|---|---|---|"]
    for name, c in counts.items():
        plo, phi, rlo, rhi = _intervals(c)
        lines.append(f"| {name} | {c.precision:.3f} ({c.tp}/{c.tp + c.fp}) | {plo:.3f}–{phi:.3f} "
                     f"| {c.recall:.3f} ({c.tp}/{c.tp + c.fn}) | {rlo:.3f}–{rhi:.3f} | {c.tp} | {c.fp} | {c.fn} |")
    return lines


def text_table(title: str, counts: dict[str, Counts]) -> list[str]:
    """The same figures for a terminal (`pytest -s`)."""
    lines = [title, f"  {'rule':18} {'precision':>9} {'interval':>13} {'recall':>7} {'interval':>13}   tp  fp  fn"]
    for name, c in counts.items():
        plo, phi, rlo, rhi = _intervals(c)
        lines.append(f"  {name:18} {c.precision:9.3f} {plo:6.3f}–{phi:.3f} {c.recall:7.3f} {rlo:6.3f}–{rhi:.3f}"
                     f" {c.tp:4d}{c.fp:4d}{c.fn:4d}")
    return lines


def agreement_table(first: list[Labelled], second: dict[str, frozenset[str]], names: tuple[str, ...]) -> list[str]:
    """Per rule name: how often two labellers agree on the items both labelled (matched by title), with
    Cohen's kappa. The markdown rows the README states (§ How the rules are evaluated)."""
    pairs = [(item.labels, second[item.ann.title]) for item in first if item.ann.title in second]
    rows = ["| topic | items | first labeller | second labeller | both | agreement | Cohen's κ |",
            "|---|---|---|---|---|---|---|"]
    for name in names:
        a = [name in x for x, _ in pairs]
        b = [name in y for _, y in pairs]
        n = len(pairs)
        agree = sum(x == y for x, y in zip(a, b, strict=True)) / n
        pa, pb = sum(a) / n, sum(b) / n
        chance = pa * pb + (1 - pa) * (1 - pb)
        kappa = (agree - chance) / (1 - chance) if chance < 1 else 1.0
        both = sum(x and y for x, y in zip(a, b, strict=True))
        rows.append(f"| {name} | {n} | {sum(a)} | {sum(b)} | {both} | {agree:.3f} | {kappa:.3f} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.rulescore CORPUS... [--rules FILE]`: per rule precision and recall with intervals, then
    every wrong verdict, for a labelled corpus (a tests/corpus file, or what `watcher labels export` wrote)
    under a rules file (default: the shipped rules.yaml). Several corpora are pooled."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.rulescore", description=main.__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="+", type=Path, help="labelled corpus files (YAML), pooled")
    parser.add_argument("--rules", type=Path, default=Path(__file__).resolve().parent.parent / "rules.yaml")
    args = parser.parse_args(argv)
    try:
        items = [item for path in args.corpus for item in load_corpus(path)]
        matcher = matcher_of(args.rules)
    except Exception as exc:  # a missing file, bad YAML, an item without a title, bad rules: one line
        print(f"rulescore: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 2
    counts, wrong = score(matcher, items)
    print("\n".join(text_table(f"{' + '.join(map(str, args.corpus))} ({len(items)} items) under {args.rules}",
                               counts)))
    for w in wrong:
        print(f"  {w.kind:11} {w.rule:18} {w.title}" + (f"  [{', '.join(w.keywords)}]" if w.keywords else ""))
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends the listing quietly
    raise SystemExit(main())
