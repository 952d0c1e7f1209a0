"""The shipped rules.yaml against a labelled corpus of announcements (tests/corpus/labelled.yaml).

Prints precision and recall per rule and overall (`pytest tests/test_rules_corpus.py -s`) and
fails below recall 0.95 or precision 0.9, listing the items it got wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from watcher.config import load_rules
from watcher.match import Matcher
from watcher.models import Announcement, RuleSet

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules.yaml"
CORPUS = Path(__file__).resolve().parent / "corpus" / "labelled.yaml"
MIN_RECALL, MIN_PRECISION = 0.95, 0.9


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_rules(RULES, None, env={})


@pytest.fixture(scope="module")
def corpus() -> list[tuple[Announcement, set[str]]]:
    items = YAML(typ="safe").load(CORPUS.read_text(encoding="utf-8"))["items"]
    out = []
    for i, item in enumerate(items):
        ann = Announcement(source=item.get("source", "corpus"), id=str(i), title=item["title"],
                           link=None, summary=item.get("summary", ""), agency=item.get("agency"))
        out.append((ann, set(item["rules"])))
    return out


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def test_corpus_is_large_and_labels_name_shipped_rules(ruleset, corpus):
    names = {r.name for r in ruleset.rules}
    assert len(corpus) >= 150
    assert sum(1 for _, labels in corpus if not labels) >= 40  # plenty of negatives
    unknown = {label for _, labels in corpus for label in labels} - names
    assert not unknown, f"labels naming no shipped rule: {unknown}"
    for name in names:
        assert sum(1 for _, labels in corpus if name in labels) >= 30, name


def test_shipped_rules_precision_and_recall(ruleset, corpus):
    matcher = Matcher(ruleset)
    names = [r.name for r in ruleset.rules]
    tp = dict.fromkeys(names, 0)
    fp = dict.fromkeys(names, 0)
    fn = dict.fromkeys(names, 0)
    wrong = []
    for ann, labels in corpus:
        got = {hit.rule: hit.keywords for hit in matcher.match(ann)}
        for name in names:
            if name in got and name in labels:
                tp[name] += 1
            elif name in got:
                fp[name] += 1
                wrong.append(f"  false positive {name} {list(got[name])}: {ann.title}")
            elif name in labels:
                fn[name] += 1
                wrong.append(f"  missed         {name}: {ann.title}")

    lines, failing = [f"{'rule':18} {'precision':>9} {'recall':>7}   tp  fp  fn"], []
    for name in [*names, "overall"]:
        if name == "overall":
            t, f, n = sum(tp.values()), sum(fp.values()), sum(fn.values())
        else:
            t, f, n = tp[name], fp[name], fn[name]
        precision, recall = _ratio(t, t + f), _ratio(t, t + n)
        lines.append(f"{name:18} {precision:9.3f} {recall:7.3f} {t:4d}{f:4d}{n:4d}")
        if precision < MIN_PRECISION or recall < MIN_RECALL:
            failing.append(name)
    report = "\n".join(lines + wrong)
    print(f"\n{len(corpus)} labelled announcements\n{report}")
    assert not failing, f"below precision {MIN_PRECISION} / recall {MIN_RECALL}: {failing}\n{report}"
