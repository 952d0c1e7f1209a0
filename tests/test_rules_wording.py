"""Table tests of the shipped rules.yaml: every kind of wording issue #24 names, one case per line of
tests/corpus/table_cases.yaml, each citing the public programme document its wording comes from
(docs/PROGRAMMES.md), none taken from a held-out batch the rules are scored on.

Kinds (the issue's words): 특구 programmes named by their programme — a bare region tag `(지역)`, a tag
with a dash `(지역-5)`, the region at the end, 혁신주체 네트워크, 기술발굴 및 연계, 유니콘프로젝트,
INNOPOLIS; medical-device calls named by the device family (체외진단, dental) or the fair, without
의료기기, and 임상 실증; digital-health calls named by the service (헬스테크, 마이데이터, 디지털 전환).
Each kind has cases that must fire, and the look-alikes beside them must stay quiet.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.rulescore import load_corpus
from watcher.config.load import load_rules
from watcher.match.matcher import Matcher
from watcher.models import Announcement

ROOT = Path(__file__).resolve().parent.parent
CASES = YAML(typ="safe").load((ROOT / "tests" / "corpus" / "table_cases.yaml").read_text(encoding="utf-8"))["cases"]

# the issue's kinds of wording -> the `kind` values of table_cases.yaml that show it (cases that must fire)
ISSUE_KINDS = {
    "특구: bare region tag (지역)": {"bare region tag"},
    "특구: tag with a dash (지역-5)": {"특구 dash tag"},
    "특구: region at the end": {"region at end"},
    "특구: 혁신주체 네트워크": {"혁신주체 네트워크"},
    "특구: 기술발굴 및 연계": {"기술발굴 및 연계"},
    "특구: 유니콘프로젝트": {"유니콘프로젝트"},
    "특구: INNOPOLIS": {"INNOPOLIS", "Latin brand"},
    "의료기기: device family": {"device family", "rehab + clinical", "IVD"},
    "의료기기: dental": {"dental", "dental equipment", "dental fair", "dental lab", "dental materials", "dental R&D"},
    "의료기기: 체외진단": {"체외진단", "IVD"},
    "의료기기: fairs named without 의료기기": {"fair", "fair Latin", "fair Korean", "fair renamed", "hospital fair",
                                        "hospital fair Korean", "regional device fair"},
    "의료기기: 임상 실증": {"임상 실증", "rehab + clinical"},
    "디지털헬스: 헬스테크": {"헬스테크", "service term"},
    "디지털헬스: 마이데이터": {"마이데이터", "의료 마이데이터", "의료 마이데이터 apart"},
    "디지털헬스: 디지털 전환 of a medical field": {"디지털 전환"},
}


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_rules(ROOT / "rules.yaml", env={}))


@pytest.mark.parametrize("case", CASES, ids=[f"{c['kind']}: {c['text']}" for c in CASES])
def test_wording(matcher, case):
    ann = Announcement(source="table", id="1", title=case["text"], link=None)
    got = sorted(hit.rule for hit in matcher.match(ann))
    assert got == sorted(case["expect"]), f"{case['text']} ({case['kind']}; {case['doc']})"


def test_every_case_cites_its_document_and_names_shipped_rules(matcher):
    for case in CASES:
        assert case.get("doc") and case.get("kind"), case
        assert set(case["expect"]) <= set(matcher.rule_names), case


@pytest.mark.parametrize("kind", sorted(ISSUE_KINDS))
def test_every_kind_of_wording_of_the_issue_has_cases_that_must_fire(kind):
    firing = [c for c in CASES if c["kind"] in ISSUE_KINDS[kind] and c["expect"]]
    assert firing, f"no table case for {kind}"


@pytest.mark.parametrize("topic", ["gangso-teukgu", "medical-devices", "digital-health"])
def test_each_topic_has_look_alikes_that_must_stay_quiet(topic):
    words = {"gangso-teukgu": ("유니콘", "전략기술", "규제특례", "(대구)", "(광주)"),
             "medical-devices": ("치과", "보조기기", "검사장비", "치의학"),
             "digital-health": ("마이데이터", "헬스", "디지털 전환", "재활용")}[topic]
    quiet = [c for c in CASES if topic not in c["expect"] and any(w in c["text"] for w in words)]
    assert len(quiet) >= 2, topic


def test_no_case_is_an_item_of_a_held_out_batch():
    """Built from programme documents, not copied from a batch the rules are scored on (a look-alike may
    share a page with a tuning item: `치과 위생사 국가 고시`)."""
    def fold(text: str) -> str:
        return "".join(text.split())

    scored = {fold(item.ann.title) for name in ("heldout.yaml", "heldout2.yaml", "heldout3.yaml")
              for item in load_corpus(ROOT / "tests" / "corpus" / name)}
    copied = [c["text"] for c in CASES if fold(c["text"]) in scored]
    assert not copied, copied
