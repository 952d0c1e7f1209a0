"""The team's judgment as lessons for rules.yaml: `watcher rules report` and `watcher labels export`.
Pure over Store.team_judgments() and the rules in force.

- An alerted call was **kept** when someone took it or gave it any state but `관심 없음` (`지원 안 함`
  is a decision about a relevant call), **dismissed** when its state is `관심 없음`, and has **no
  action** otherwise. Per rule: the calls it alerted, kept, dismissed, and the item's words that
  sent the dismissed ones (`채용 (제목) ×2`: candidates for `none`).
- A **missed** call (`/공모 놓침`, `놓친 공고` on the desk) is a stored call no alert announced: the
  report says why the rule did not take it (not among its sources, an exclusion word, an `all` word
  missing) and the words of its title a rule would need.
- `labels export` writes every judged call as a labelled corpus item in the format of
  tests/corpus/real.yaml: kept -> the rules that alerted it, dismissed -> [], missed -> [its rule]
  (a missed call with no rule named is left out and counted).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from datetime import datetime
from typing import Any

from watcher.match.explain import hit_words
from watcher.match.keywords import normalize
from watcher.match.matcher import Matcher
from watcher.models import Announcement, Rule, RuleSet
from watcher.parse.links import shown_link

STOP = set("""공고 공모 모집 모집공고 공모사업 사업 지원 지원사업 참여 참여기업 기업 신청 안내 선정 계획
추가 재공고 연장 변경 정정 및 등 위한 대상 과제 기관 수행기관 운영 시행 알림 공지 공고문 접수 개최 참가
참가자 참가기업 설명회 하반기 상반기 년 년도 차 제 관련 통합 시행계획 기업모집 추진 사업공고 공모전 참여자
the and for of""".split())
WORDS_SHOWN = 6


def judged_state(row: dict[str, Any]) -> str:
    """`kept`, `dismissed` or `none` for a call's triage row (state code, assignee)."""
    if row.get("state") == "dismissed":
        return "dismissed"
    return "kept" if row.get("state") or row.get("assignee") else "none"


def _calls(alerts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One entry per alerted call: its first alert's announcement, state and every rule that sent it."""
    calls: dict[str, dict[str, Any]] = {}
    for alert in alerts:
        entry = calls.setdefault(alert["call"], {**alert, "rule_names": []})
        for rule in alert.get("rules") or []:
            if isinstance(rule, dict) and rule.get("rule") and rule["rule"] not in entry["rule_names"]:
                entry["rule_names"].append(rule["rule"])
    return calls


def candidate_words(text: str, known: set[str] | None = None) -> list[str]:
    """Words of a title a rule could use: its words in order, without years, numbers, the words every
    call has (공고, 모집, 지원사업, …) and the keywords the rule has already."""
    out: list[str] = []
    for word in re.findall(r"[0-9A-Za-z가-힣]+", re.sub(r"[\[\]()「」『』<>〈〉《》【】]", " ", text or "")):
        folded = normalize(word)
        if (len(word) < 2 or word.isdigit() or re.fullmatch(r"\d+(년|년도|차|회|월|일)?", word) or folded in STOP
                or folded in (known or set()) or word in out):
            continue
        out.append(word)
    return out[:WORDS_SHOWN]


def _hits(rule: Rule, ruleset: RuleSet, ann: Announcement) -> bool:
    return Matcher(RuleSet(rules=(rule,), synonyms=ruleset.synonyms)).match_rule(rule.name, ann) is not None


def explain_missed(row: dict[str, Any], rule: Rule | None, ruleset: RuleSet) -> dict[str, Any]:
    """Why `rule` did not alert this stored call, and the words it would need."""
    ann = Announcement(source=row["source"], id=row["id"], title=row.get("title") or "", link=row.get("link"),
                       summary=row.get("summary") or "", agency=row.get("agency"))
    if rule is None:
        return {"why": [], "words": candidate_words(ann.title)}
    known = {normalize(k) for k in (*rule.any, *rule.all)}
    if _hits(rule, ruleset, ann):
        return {"why": ["the rule matches it now (rules.yaml changed since)"], "words": []}
    why: list[str] = []
    if rule.sources is not None and ann.source not in rule.sources:
        why.append(f"source {ann.source} is not among the rule's sources")
    probe = replace(rule, sources=None)
    blocked = [kw for kw in rule.none if _hits(replace(probe, any=(kw,), all=(), none=()), ruleset, ann)]
    if blocked:
        why.append("excluded by none: " + ", ".join(blocked))
    missing = [kw for kw in rule.all if not _hits(replace(probe, any=(kw,), all=(), none=()), ruleset, ann)]
    if missing:
        why.append("all: missing " + ", ".join(missing))
    any_hit = not rule.any or _hits(replace(probe, all=(), none=()), ruleset, ann)
    words: list[str] = []
    if not any_hit:
        why.append(f"no word of any in {'/'.join(rule.fields)}")
        words = candidate_words(ann.title, known)
    return {"why": why, "words": words}


def rules_report(judgments: dict[str, list[dict[str, Any]]], ruleset: RuleSet) -> dict[str, Any]:
    """{"rules": [{rule, alerted, kept, dismissed, none, dismissed_words: [[label, n]]}],
    "missed": [{title, link, source, rule, by, at, alerted, why, words}]}."""
    calls = _calls(judgments["alerts"])
    names = [r.name for r in ruleset.rules]
    names += sorted({n for c in calls.values() for n in c["rule_names"]} - set(names))
    table = {name: {"rule": name, "alerted": 0, "kept": 0, "dismissed": 0, "none": 0} for name in names}
    for call in calls.values():
        verdict = judged_state(call)
        for name in call["rule_names"]:
            table[name]["alerted"] += 1
            table[name][verdict] += 1
    words: dict[str, Counter[str]] = {name: Counter() for name in names}
    seen: set[tuple[str, str]] = set()
    for entry in judgments["dismissals"]:
        if entry.get("state") != "dismissed":
            continue  # dismissed, then taken up again
        for rule in entry.get("rules") or []:
            if isinstance(rule, dict) and rule.get("rule") in words and (entry["call"], rule["rule"]) not in seen:
                seen.add((entry["call"], rule["rule"]))
                words[rule["rule"]].update(hit_words(rule))
    for name, row in table.items():
        row["dismissed_words"] = [[w, n] for w, n in words[name].most_common(8)]
    by_name = {r.name: r for r in ruleset.rules}
    missed, done = [], set()
    for row in judgments["missed"]:
        if row["call"] in done:
            continue
        done.add(row["call"])
        rule = by_name.get(row.get("rule") or "")
        missed.append({"title": row.get("title"), "link": shown_link(row.get("link")), "source": row.get("source"),
                       "rule": row.get("rule"), "by": row.get("user_name") or row.get("user"), "at": row.get("at"),
                       "alerted": bool(row.get("alerted")), **explain_missed(row, rule, ruleset)})
    return {"rules": [table[n] for n in names if table[n]["alerted"] or n in by_name], "missed": missed}


def report_lines(report: dict[str, Any]) -> list[str]:
    """The report as the terminal shows it."""
    lines = [f"{'rule':<24} {'alerted':>7} {'kept':>5} {'dismissed':>9} {'no action':>9}"]
    for row in report["rules"]:
        lines.append(f"{row['rule']:<24} {row['alerted']:>7} {row['kept']:>5} {row['dismissed']:>9} {row['none']:>9}")
        if row["dismissed_words"]:
            shown = ", ".join(f"{w} ×{n}" if n > 1 else w for w, n in row["dismissed_words"])
            lines.append(f"  dismissed (관심 없음) for: {shown}")
    lines.append("")
    lines.append(f"missed calls (놓친 공고): {len(report['missed'])}")
    for row in report["missed"]:
        lines.append(f"  {row['rule'] or '(no rule named)':<22} {row['title']}  {row['link'] or ''}")
        detail = "; ".join(row["why"])
        if row["words"]:
            detail += ("; " if detail else "") + "words a rule would need: " + ", ".join(row["words"])
        if row["alerted"]:
            detail += ("; " if detail else "") + "alerted since"
        if detail:
            lines.append(f"    {detail}")
    return lines


# ---- labels export ------------------------------------------------------------------------------

def _q(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def corpus_items(judgments: dict[str, list[dict[str, Any]]]) -> tuple[list[dict[str, Any]], int]:
    """(labelled items, missed calls left out for want of a rule): kept, dismissed, then missed."""
    items: list[dict[str, Any]] = []
    for call in _calls(judgments["alerts"]).values():
        verdict = judged_state(call)
        if verdict == "none":
            continue
        items.append({"title": call.get("title") or "", "summary": call.get("summary") or "",
                      "agency": call.get("agency"), "kind": call.get("source"),
                      "provenance": {"source": call.get("source"), "link": shown_link(call.get("link")),
                                     "team": verdict},
                      "labels": sorted(call["rule_names"]) if verdict == "kept" else []})
    unnamed, seen = 0, set()
    for row in judgments["missed"]:
        if row["call"] in seen:
            continue
        seen.add(row["call"])
        if not row.get("rule"):
            unnamed += 1
            continue
        items.append({"title": row.get("title") or "", "summary": row.get("summary") or "",
                      "agency": row.get("agency"), "kind": row.get("source"),
                      "provenance": {"source": row.get("source"), "link": shown_link(row.get("link")),
                                     "team": "missed"},
                      "labels": [row["rule"]]})
    return items, unnamed


def corpus_yaml(items: list[dict[str, Any]], now: datetime) -> str:
    """The items as a corpus file like tests/corpus/real.yaml (one flow mapping per item)."""
    out = [
        "# The team's own calls, labelled in Slack (watcher labels export): tune rules.yaml on them.",
        f"# Exported {now.isoformat(timespec='seconds')}. labels = the rules the team wanted the call from:",
        "#   kept (taken, or given a state other than 관심 없음) -> the rules that alerted it;",
        "#   dismissed (관심 없음) -> []; missed (놓친 공고, a stored call no alert announced) -> its rule.",
        "# kind: the source id. Score it: .venv/bin/python -m tests.rulescore THIS_FILE --rules RULES_FILE",
        "",
        "provenance:",
        f"  team: &team {{tool: \"watcher labels export\", exported: {_q(now.isoformat(timespec='seconds'))}}}",
        "items:",
    ]
    for item in items:
        fields = [f"title: {_q(item['title'])}"]
        if item.get("summary"):
            fields.append(f"summary: {_q(item['summary'])}")
        if item.get("agency"):
            fields.append(f"agency: {_q(item['agency'])}")
        fields.append(f"kind: {_q(item['kind'])}")
        prov = item["provenance"]
        fields.append("provenance: {" + ", ".join(f"{k}: {_q(v)}" for k, v in prov.items() if v is not None) + "}")
        fields.append(f"labels: {_q(item['labels'])}")
        out.append("- {" + ", ".join(fields) + "}")
    if not items:
        out[-1] = "items: []"
    return "\n".join(out) + "\n"
