"""Time Matcher on 100,000 synthetic announcements x 50 rules, against a naive baseline.

Run: .venv/bin/python bench/bench_match.py [--n 100000] [--naive-n 10000]

The naive baseline does what a first version would: for every announcement and every rule,
normalise the rule's fields again, then loop `keyword in text` (and `re.search` for `re:`).
It skips the whole-word rule for Latin keywords, so its hit count differs slightly.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from watcher.match.matcher import Matcher  # noqa: E402
from watcher.models import Announcement, Rule, RuleSet  # noqa: E402

# Topic vocabularies: the first words feed rules, all of them feed titles and summaries.
TOPICS: dict[str, list[str]] = {
    "health": ["디지털헬스케어", "디지털 헬스케어", "원격의료", "비대면 진료", "의료 AI", "스마트헬스케어",
               "보건의료 데이터", "디지털치료기기", "웨어러블", "의료마이데이터"],
    "device": ["의료기기", "체외진단", "메드테크", "혁신의료기기", "의료기기 인허가", "진단기기",
               "영상진단", "수술로봇", "치과기자재", "의료기기 임상"],
    "gangso": ["강소특구", "강소연구개발특구", "연구개발특구", "특구 기술사업화", "특구기업",
               "연구소기업", "기술이전", "특구육성사업"],
    "bio": ["바이오", "신약", "바이오의약품", "유전체", "세포치료제", "백신", "오가노이드", "CDMO"],
    "hydrogen": ["수소", "연료전지", "수전해", "수소충전소", "그린수소", "암모니아", "액화수소"],
    "semicon": ["반도체", "AI 반도체", "시스템반도체", "팹리스", "전력반도체", "패키징", "HBM"],
    "robot": ["로봇", "협동로봇", "서비스로봇", "자율주행", "드론", "모빌리티", "UAM"],
    "carbon": ["탄소중립", "온실가스", "재생에너지", "태양광", "풍력", "ESS", "에너지효율"],
    "farm": ["스마트팜", "농식품", "푸드테크", "수산", "축산", "종자", "그린바이오"],
    "content": ["콘텐츠", "게임", "웹툰", "메타버스", "XR", "OTT", "K-POP"],
    "startup": ["창업", "예비창업자", "초기창업", "액셀러레이터", "TIPS", "엔젤투자", "벤처"],
    "export": ["수출", "해외진출", "바우처", "글로벌", "전시회", "무역사절단", "KOTRA"],
}
NEUTRAL = ["소상공인", "지역특화", "기업지원", "판로개척", "마케팅", "인력양성", "교육", "컨설팅",
           "시제품 제작", "사업화", "기술개발", "실증", "인증", "특허", "디자인", "경영안정자금",
           "관광", "의료관광", "의료폐기물", "채용", "규제자유특구", "관광특구", "maintain", "AIDS"]
PREFIX = ["2026년", "2027년도", "(재공고)", "[서울]", "[경기]", "[대전]", "[전북]", "[경북]", "[부산]", ""]
SUFFIX = ["지원사업 공고", "참여기업 모집 공고", "기술수요조사", "시행계획 공고", "신규과제 공모",
          "설명회 개최 안내", "수요기업 모집", "선정결과 안내", "사업설명회 개최", "과제 공고"]
SENT = ["{a} 분야 {b} 역량 강화를 위해 {c} 기업을 모집합니다.",
        "본 사업은 {a}·{b} 기업의 {c} 지원을 목적으로 합니다.",
        "지원내용: {a} 기술개발, {b} 실증 및 {c} 컨설팅",
        "신청자격: {a} 관련 중소기업 및 {b} 전문기관 (컨소시엄 가능)",
        "접수기간: 2026. 9. 1. ~ 2026. 9. 30. 18:00, {a} 과제당 최대 2억원 ({b}ㆍ{c} 우대)"]
AGENCIES = ["과학기술정보통신부", "산업통상자원부", "보건복지부", "식품의약품안전처", "중소벤처기업부",
            "한국보건산업진흥원", "연구개발특구진흥재단", "정보통신산업진흥원", "창업진흥원", "KOTRA"]
SOURCES = ["ntis", "bizinfo", "kstartup", "mohw", "mfds", "khidi", "innopolis", "mss"]


def make_announcements(n: int, rng: random.Random) -> list[Announcement]:
    words = [w for ws in TOPICS.values() for w in ws]
    out = []
    for i in range(n):
        # a quarter of the items carry a topic word in the title; the rest are neutral
        pool = words if rng.random() < 0.25 else NEUTRAL
        title = f"{rng.choice(PREFIX)} {rng.choice(pool)} {rng.choice(NEUTRAL)} {rng.choice(SUFFIX)}"
        summary = " ".join(
            rng.choice(SENT).format(a=rng.choice(pool), b=rng.choice(NEUTRAL), c=rng.choice(NEUTRAL))
            for _ in range(rng.randint(2, 4)))
        source = rng.choice(SOURCES)
        out.append(Announcement(
            source=source, id=str(i), title=title.strip(), summary=summary,
            link=f"https://www.{source}.go.kr/board/view.do?seq={100000 + i}",
            published="2026-09-01T09:00:00+09:00", agency=rng.choice(AGENCIES)))
    return out


def make_rules(rng: random.Random) -> RuleSet:
    rules: list[Rule] = []
    names = list(TOPICS)
    while len(rules) < 50:
        topic = names[len(rules) % len(names)]
        variant = len(rules) // len(names)
        kws = list(TOPICS[topic])
        rng.shuffle(kws)
        any_ = tuple(kws[:6])
        if variant == 1:
            any_ = (*any_[:4], f"re:{kws[4][:2]}\\s*{kws[4][2:] or '.'}")
        rules.append(Rule(
            name=f"{topic}-{variant}", any=any_,
            all=("공고",) if variant == 2 else (),
            none=("채용", "부고", "의료관광", "관광특구") if variant != 3 else ("교육",),
            fields=("title", "summary", "agency") if variant == 3 else ("title", "summary"),
            sources=tuple(SOURCES[:4]) if variant == 2 else None,
            channel=f"#{topic}"))
    synonyms = (("의료기기", "medical device"), ("강소특구", "강소연구개발특구"),
                ("디지털치료기기", "디지털 치료제", "DTx"), ("원격의료", "비대면 진료"))
    return RuleSet(rules=tuple(rules), synonyms=synonyms)


def naive(ruleset: RuleSet, anns: list[Announcement]) -> int:
    groups: dict[str, list[str]] = {}
    for group in ruleset.synonyms:
        for w in group:
            groups.setdefault(w, []).extend(group)

    def norm(s: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s).replace("ㆍ", "·").lower())

    def has(kw: str, text: str, raw: str) -> bool:
        for w in [kw, *groups.get(kw, [])]:
            if w.startswith("re:"):
                if re.search(w[3:], raw, re.IGNORECASE):
                    return True
            elif norm(w) in text:
                return True
        return False

    hits = 0
    for ann in anns:
        for rule in ruleset.rules:
            if rule.sources and ann.source not in rule.sources:
                continue
            raw = "\n".join(getattr(ann, f) or "" for f in rule.fields)
            text = norm(raw)
            if any(has(k, text, raw) for k in rule.none):
                continue
            if not all(has(k, text, raw) for k in rule.all):
                continue
            if rule.any and not any(has(k, text, raw) for k in rule.any):
                continue
            hits += 1
    return hits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="announcements (default 100000)")
    ap.add_argument("--naive-n", type=int, default=10_000,
                    help="announcements for the (slow) baseline, its time scaled to --n (default 10000; 0: all)")
    args = ap.parse_args()
    rng = random.Random(20260901)
    anns = make_announcements(args.n, rng)
    ruleset = make_rules(rng)
    chars = sum(len(a.title) + len(a.summary) for a in anns) / len(anns)
    print(f"{len(anns):,} announcements (avg {chars:.0f} chars title+summary), {len(ruleset.rules)} rules")

    t0 = time.perf_counter()
    matcher = Matcher(ruleset)
    t1, c1 = time.perf_counter(), time.process_time()
    hits = sum(len(matcher.match(a)) for a in anns)
    fast, fast_cpu = time.perf_counter() - t1, time.process_time() - c1
    matched = sum(1 for a in anns if matcher.match(a))
    print(f"Matcher: compile {1000 * (t1 - t0):.1f} ms, match {fast:.2f} s wall / {fast_cpu:.2f} s CPU "
          f"({1e6 * fast / len(anns):.1f} us/announcement); {hits:,} hits, "
          f"{matched / len(anns):.0%} of announcements match a rule")

    sample = anns[: args.naive_n] if args.naive_n else anns
    t3, c3 = time.perf_counter(), time.process_time()
    naive_hits = naive(ruleset, sample)
    scale = len(anns) / len(sample)
    slow, slow_cpu = (time.perf_counter() - t3) * scale, (time.process_time() - c3) * scale
    extrapolated = f" (extrapolated from {len(sample):,})" if len(sample) < len(anns) else ""
    print(f"naive:   match {slow:.2f} s wall / {slow_cpu:.2f} s CPU{extrapolated}, "
          f"{naive_hits:,} hits on {len(sample):,}")
    print(f"ratio:   naive / Matcher = {slow / fast:.1f}x wall, {slow_cpu / fast_cpu:.1f}x CPU")


if __name__ == "__main__":
    main()
