"""Which shipped rules read a call's detail page and attachments, measured on the real attachments
(../shared/samples/real/attachments/): the medical-devices rule searches them and is right on every
real file; the other two do not (on these files they would alert a company name and a checkbox)."""

from __future__ import annotations

import dataclasses

import pytest

from tests.shared import ROOT, real_dir
from watcher.config.load import load_rules
from watcher.extract import extract_file
from watcher.match.matcher import Matcher
from watcher.models import CallText


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    folder = real_dir() / "attachments"
    return {p.name[:3]: extract_file(p).text or "" for p in sorted(folder.iterdir()) if p.name != "PROVENANCE.md"}


def hits(rules, texts: dict[str, str]) -> dict[str, set[str]]:
    matcher = Matcher(rules)
    found = {}
    for key, text in texts.items():
        call = CallText(source="tp", id=key, title="2025년 지원사업 공고", link="https://tp.example/1",
                        attachments=text)
        names = {h.rule for h in matcher.match(call)}
        if names:
            found[key] = names
    return found


def test_the_shipped_rules_alert_only_the_device_fair_call_among_the_real_attachments(texts):
    rules = load_rules(str(ROOT / "rules.yaml"), [])
    assert len(texts) == 30
    # r16: the application form of a 태국 메디컬 페어 공동관 call (지원대상산업: 의료기기)
    assert hits(rules, texts) == {"r16": {"medical-devices"}}


def test_the_other_rules_would_alert_a_company_name_and_a_sector_box_if_they_read_attachments(texts):
    shipped = load_rules(str(ROOT / "rules.yaml"), [])
    wide = dataclasses.replace(shipped, rules=tuple(
        dataclasses.replace(r, fields=tuple(dict.fromkeys((*r.fields, "body", "attachments")))) for r in shipped.rules))
    found = hits(wide, texts)
    assert found["r21"] == {"gangso-teukgu"}  # (주)에스와이이노테크, a company in a list of centres
    assert "digital-health" in found["r16"]  # 헬스케어 as a sector checkbox on the form
