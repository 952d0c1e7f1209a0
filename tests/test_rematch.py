"""Rules edits apply to stored announcements at the next `once` / reload of `run`, without fetching."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from email.utils import format_datetime
from io import StringIO
from pathlib import Path

import pytest

from tests.e2e import KST, Watcher
from tests.feed_server import FeedServer
from watcher.config.load import load_config
from watcher.deliver.senders import ConsoleSender
from watcher.errors import ConfigError
from watcher.match.matcher import Matcher
from watcher.models import Announcement, Config, Rule, RuleSet, Source
from watcher.pipeline.loop import Runner
from watcher.pipeline.rematch import apply_rules, changed_rules, fingerprint
from watcher.store import Store

RULES = """\
defaults:
  channel: "#gongmo"
  max_age: 14d
rules:
  - name: health
    any: [디지털헬스케어]
    channel: "#health"
  - name: gangso
    any: [강소특구]
    fields: [title, agency]
    channel: "#teukgu"
"""
# the edit: one more keyword, a regular expression that must never be shown to anyone
EDITED = RULES.replace("any: [강소특구]", 'any: [강소특구, "re:강소\\\\s*연구개발특구"]')
STORED_CALL = "2026년 강소 연구개발특구 기술사업화 참여기업 모집"
CLOSED_CALL = "강소 연구개발특구 지난 모집 (마감)"
OLD_CALL = "강소 연구개발특구 오래된 공고"


def rss(now: datetime, *more: tuple[str, str]) -> str:
    fresh = format_datetime(now - timedelta(hours=2))
    old = format_datetime(now - timedelta(days=40))
    closed = (now - timedelta(days=3)).strftime("%Y.%m.%d")
    items = [
        ("1", "디지털헬스케어 실증 공모", fresh, ""),
        ("2", STORED_CALL, fresh, "연구개발특구진흥재단이 참여기업을 모집합니다."),
        ("3", CLOSED_CALL, fresh, f"접수기간: 2026.01.05 ~ {closed}"),
        ("4", OLD_CALL, old, ""),
        *((key, title, fresh, "") for key, title in more),
    ]
    body = "".join(f"<item><title>{t}</title><link>http://example.org/{k}</link><pubDate>{d}</pubDate>"
                   f"<description>{s}</description></item>" for k, t, d, s in items)
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'


@pytest.fixture()
def feeds():
    with FeedServer() as server:
        server.set("/f.xml", rss(datetime.now(KST)))
        yield server


def test_rules_edit_alerts_a_stored_call_once_without_fetching_again(tmp_path, feeds):
    w = Watcher(tmp_path)  # no Slack variables: alerts go to standard output
    w.write("sources.yaml", f"sources:\n  - id: board\n    url: {feeds.url('/f.xml')}\n    interval: 10m\n")
    w.write("rules.yaml", RULES)
    first = w("once")
    assert first.returncode == 0, first.stderr
    assert "디지털헬스케어 실증 공모" in first.stdout and STORED_CALL not in first.stdout

    w.write("rules.yaml", EDITED)
    second = w("once")
    assert second.returncode == 0, second.stderr
    assert "rules changed: 3 stored announcements matched again" in second.stdout  # not the 40-day-old one
    assert second.stdout.count(STORED_CALL) == 1 and "alerts: 1 sent" in second.stdout
    assert "강소 연구개발특구 (제목)" in second.stdout  # the item's words, not the pattern
    assert CLOSED_CALL not in second.stdout and OLD_CALL not in second.stdout
    # the feed was asked once per `once`, the second time conditionally (nothing re-read for the edit)
    hits = feeds.hits_for("/f.xml")
    assert len(hits) == 2 and hits[1].status == 304 and "If-None-Match" in hits[1].headers

    found = w.json("search", "--rule", "gangso")
    assert {r["title"] for r in found} == {STORED_CALL, CLOSED_CALL}  # matched; the closed one is not alerted
    (row,) = [r for r in found if r["title"] == STORED_CALL]
    assert row["matched"] == [{"rule": "gangso", "words": ["강소 연구개발특구 (제목)"]}]

    third = w("once")
    assert third.returncode == 0, third.stderr
    assert "rules changed" not in third.stdout and "alerts: 0 sent, 0 pending" in third.stdout
    assert STORED_CALL not in third.stdout and len(feeds.hits_for("/f.xml")) == 3

    tested = w("rules", "test")
    assert tested.returncode == 0, tested.stderr
    assert f"{STORED_CALL}  (강소 연구개발특구 (제목))" in tested.stdout
    rows = w.json("rules", "test")
    assert {tuple(r["words"]) for r in rows if r["title"] == STORED_CALL} == {("강소 연구개발특구 (제목)",)}
    for out in (first.stdout, second.stdout, third.stdout, tested.stdout, json.dumps(rows, ensure_ascii=False)):
        assert "re:" not in out and "\\s*" not in out


# ---- in-process: the store side ------------------------------------------------------------

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=KST)
SRC = Source(id="ntis", url="http://127.0.0.1/ntis.xml", name="NTIS")


def ann(i: str, title: str, **kw: object) -> Announcement:
    return Announcement(source="ntis", id=i, title=title, link=f"https://example.go.kr/{i}",
                        published=kw.pop("published", "2026-11-19T09:00:00+09:00"), **kw)  # type: ignore[arg-type]


def config(*rules: Rule, max_age: float = 14 * 86400, text: str | None = None) -> Config:
    return Config(sources=(SRC,), rules=RuleSet(rules=rules, max_age=max_age), rules_text=text)


def ingest(store: Store, cfg: Config, *anns: Announcement) -> None:
    matcher = Matcher(cfg.rules)
    store.ingest(SRC, [(a, matcher.match(a)) for a in anns], NOW, cfg.rules.max_age)


def alerts(store: Store) -> list[tuple[str, str]]:
    return [tuple(r) for r in store.conn.execute("SELECT ann_id, channel FROM alerts ORDER BY id")]


def test_a_removed_rule_leaves_search_and_matches(tmp_path):
    store = Store(tmp_path / "w.db")
    before = config(Rule("zones", any=("특구",)), Rule("bio", any=("바이오",)))
    apply_rules(store, before, NOW)
    ingest(store, before, ann("1", "강소특구 바이오 공고"))
    report = apply_rules(store, config(Rule("bio", any=("바이오",))), NOW)
    assert report is not None and (report.checked, report.changed, report.alerts_queued) == (1, 1, 0)
    assert store.search("", rule="zones") == [] and [r["id"] for r in store.search("", rule="bio")] == ["1"]
    assert [r[0] for r in store.conn.execute("SELECT rule FROM matches")] == ["bio"]


def test_same_rules_rematch_nothing_and_comments_only_record_the_text(tmp_path):
    store = Store(tmp_path / "w.db")
    rules = (Rule("zones", any=("특구",), line=3),)
    assert apply_rules(store, config(*rules, text="a"), NOW) is not None
    moved = (Rule("zones", any=("특구",), line=9),)  # a comment added above it
    assert apply_rules(store, config(*moved, text="# note\na"), NOW) is None
    assert store.meta_value("rules_in_force") == "# note\na"
    assert fingerprint(RuleSet(rules=rules)) == fingerprint(RuleSet(rules=moved))


def test_closed_old_and_baseline_items_are_matched_but_not_alerted(tmp_path):
    store = Store(tmp_path / "w.db")
    none = config(Rule("other", any=("없는말",)))
    apply_rules(store, none, NOW)
    store.record_success(SRC, NOW - timedelta(days=1), None, None, None)  # the first poll was yesterday
    ingest(store, none, ann("open", "특구 공고"), ann("closed", "특구 공고 2", deadline="2026-11-19"),
           ann("old", "특구 공고 3", published="2026-10-01T09:00:00+09:00"))
    store.conn.execute("INSERT INTO announcements (source, id, key, title, first_seen, last_seen, docid) "
                       "VALUES ('ntis', 'base', 'k', '특구 기준', ?, ?, 5)",
                       ("2026-11-18T10:00:00+09:00", "2026-11-18T10:00:00+09:00"))
    store.conn.commit()
    report = apply_rules(store, config(Rule("zones", any=("특구",))), NOW)
    assert report is not None and report.alerts_queued == 1
    assert alerts(store) == [("open", "#gongmo")]
    matched = {r[0] for r in store.conn.execute("SELECT id FROM matches WHERE rule = 'zones'")}
    assert matched == {"open", "closed", "base"}  # the 50-day-old one is outside max_age: untouched


def test_rematch_never_alerts_a_key_and_channel_twice(tmp_path):
    store = Store(tmp_path / "w.db")
    cfg = config(Rule("zones", any=("특구",)))
    apply_rules(store, cfg, NOW)
    ingest(store, cfg, ann("1", "특구 공고"))
    store.conn.execute("UPDATE alerts SET status = 'sent'")
    store.conn.commit()
    report = apply_rules(store, config(Rule("zones", any=("특구",)), Rule("more", any=("공고",))), NOW)
    assert report is not None and report.alerts_queued == 0 and alerts(store) == [("1", "#gongmo")]
    moved = config(Rule("zones", any=("특구",), channel="#zones"))
    assert apply_rules(store, moved, NOW).alerts_queued == 1  # a new channel hears of it once
    assert apply_rules(store, moved, NOW) is None


def test_words_replace_old_rows_without_words(tmp_path):
    store = Store(tmp_path / "w.db")
    cfg = config(Rule("zones", any=("re:강소\\s*특구",)))
    ingest(store, cfg, ann("1", "2026 강소 특구 공고"))
    store.conn.execute("UPDATE matches SET words = NULL")  # as written before words were kept
    store.conn.commit()
    assert store.search("")[0]["matched"] == [{"rule": "zones", "words": []}]  # a regex is never shown
    apply_rules(store, cfg, NOW)
    assert store.search("")[0]["matched"] == [{"rule": "zones", "words": ["강소 특구 (제목)"]}]


# ---- in-process: `run` applies an edit at once, keeps the last good rules on a broken one ------------

def test_run_applies_edits_without_fetching_and_keeps_the_last_good_rules(tmp_path):
    with FeedServer() as feeds:
        feeds.set("/f.xml", rss(datetime.now(KST)))
        s, r = tmp_path / "sources.yaml", tmp_path / "rules.yaml"
        s.write_text(f"sources:\n  - id: board\n    url: {feeds.url('/f.xml')}\n    interval: 10m\n", encoding="utf-8")
        r.write_text(RULES, encoding="utf-8")
        store, out = Store(tmp_path / "w.db"), StringIO()
        edits = iter([EDITED, EDITED + "  - name: [broken\n"])

        def reload() -> Config:
            return load_config(s, r)

        runner = Runner(load_config(s, r), store, ConsoleSender(out), reload=reload, fingerprint=lambda: r.read_text())

        def settle() -> None:
            for future in list(runner.in_flight.values()):
                future.result(timeout=20)
            runner._collect()

        settle()
        r.write_text(next(edits), encoding="utf-8")
        runner._maybe_reload()
        assert [a for a in alerts(store) if a[1] == "#teukgu"] == [("http://example.org/2", "#teukgu")]
        assert runner.in_flight == {} and len(feeds.hits_for("/f.xml")) == 1  # nothing polled for the edit
        r.write_text(next(edits), encoding="utf-8")
        runner._maybe_reload()  # rejected: the edited rules stay in force
        with pytest.raises(ConfigError):
            reload()
        feeds.set("/f.xml", rss(datetime.now(KST), ("5", "강소 연구개발특구 2차 모집")))
        runner._due("board")  # its next poll
        settle()
        assert alerts(store)[-1] == ("http://example.org/5", "#teukgu")
        runner.cycle.close()
        store.close()


def test_the_search_page_shows_the_words_a_regex_matched_not_the_regex(tmp_path):
    import threading

    import requests

    from watcher.web import make_web_server

    store = Store(tmp_path / "w.db")
    cfg = config(Rule("zones", any=("re:강소\\s*특구",)))
    ingest(store, cfg, ann("1", "2026 강소 특구 공고"))
    store.close()
    server = make_web_server(tmp_path / "w.db", "127.0.0.1", 0, clock=lambda: NOW)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page = requests.get(f"http://127.0.0.1:{server.server_address[1]}/search", params={"q": "공고"},
                            timeout=10).text
    finally:
        server.shutdown()
        thread.join(10)
    assert '<span class="words">강소 특구 (제목)</span>' in page and "re:" not in page


def test_only_edited_rules_and_those_using_an_edited_synonym_group_are_applied_again():
    base = RuleSet(rules=(Rule("zones", any=("강소특구",)), Rule("bio", any=("바이오",))),
                   synonyms=(("강소특구", "강소연구개발특구"),))
    bio_edit = replace(base, rules=(base.rules[0], Rule("bio", any=("바이오", "신약"))))
    assert changed_rules(fingerprint(base), fingerprint(bio_edit)) == {"bio"}
    synonym_edit = replace(base, synonyms=(("강소특구", "강소연구개발특구", "강소 특구"),))
    assert changed_rules(fingerprint(base), fingerprint(synonym_edit)) == {"zones"}
    assert changed_rules(fingerprint(base), fingerprint(replace(base, rules=base.rules[:1]))) == {"bio"}
    assert changed_rules(fingerprint(base), fingerprint(replace(base, max_age=86400))) is None  # all
    assert changed_rules("0123abcd", fingerprint(base)) is None  # an older database's fingerprint


def test_an_edit_of_one_rule_leaves_the_stored_matches_of_the_others(tmp_path):
    store = Store(tmp_path / "w.db")
    cfg = config(Rule("zones", any=("특구",)), Rule("bio", any=("바이오",)))
    apply_rules(store, cfg, NOW)
    ingest(store, cfg, ann("1", "특구 바이오 공고"))
    store.conn.execute("UPDATE matches SET matched_at = 'then', words = NULL")
    store.conn.commit()
    report = apply_rules(store, config(Rule("zones", any=("특구",)), Rule("bio", any=("바이오", "공고"))), NOW)
    assert report is not None and report.changed == 1
    rows = dict(store.conn.execute("SELECT rule, words FROM matches"))
    assert rows == {"zones": None, "bio": '[{"field": "title", "text": "바이오"}, {"field": "title", "text": "공고"}]'}


def test_a_longer_max_age_matches_again_only_the_items_it_brings_in(tmp_path):
    store = Store(tmp_path / "w.db")
    cfg = config(Rule("zones", any=("특구",)))
    apply_rules(store, cfg, NOW)
    ingest(store, cfg, ann("new", "특구 실증 공고"), ann("old", "특구 실증 2차", published="2026-10-31T09:00:00+09:00"))
    edited = config(Rule("zones", any=("특구", "실증")))
    assert apply_rules(store, edited, NOW).checked == 1  # only `new` is within 14 days: `old` keeps its match
    longer = config(Rule("zones", any=("특구", "실증")), max_age=30 * 86400)
    report = apply_rules(store, longer, NOW)
    assert report is not None and (report.checked, report.changed, report.alerts_queued) == (1, 1, 1)
    words = dict(store.conn.execute("SELECT id, words FROM matches"))
    assert "실증" in words["old"] and alerts(store) == [("new", "#gongmo"), ("old", "#gongmo")]
    shorter = config(Rule("zones", any=("특구", "실증")), max_age=7 * 86400)
    assert apply_rules(store, shorter, NOW).checked == 0  # what stays inside is up to date
    assert store.meta_value("rules_fingerprint") == fingerprint(shorter.rules)


FORKED_JUDGING = """
import os, sys
from pathlib import Path
from tests import test_rematch as t
from watcher.pipeline import rematch
from watcher.models import Rule
from watcher.store import Store
from watcher.store.rematch import Window, read_rows

folder = Path(sys.argv[1])
store = Store(folder / "w.db")
before = t.config(Rule("zones", any=("특구",)), Rule("bio", any=("바이오",)))
t.apply_rules(store, before, t.NOW)
words = ["특구", "바이오", "의료", "공고", "실증", "모집"]
t.ingest(store, before, *(t.ann(str(i), f"{words[i % 6]} {words[i // 6 % 6]} {i}") for i in range(300)))
after = t.config(Rule("zones", any=("특구", "의료")), Rule("bio", any=("바이오",), none=("모집",)))
how = rematch.judgement(after.rules, store.meta_value("rules_fingerprint"), rematch.fingerprint(after.rules))
assert how is not None and not how.complete  # one keyword added, one exclusion added
items = read_rows(store.conn, Window.of(store.conn, 0, "2026-11-20", {"zones", "bio"}))
rematch.PARALLEL_MIN, rematch.SCREEN = 10, 7  # chunks that do not fall on the workers' bounds
judge_range = rematch._judge_range

def noted(bounds):  # each worker notes the process it ran in
    (folder / f"worker-{os.getpid()}-{bounds[0]}").touch()
    return judge_range(bounds)

rematch._judge_range = noted
forked = rematch.judge_all(how, items)
assert forked == rematch.judge(how, items, 0, len(items)), "forked verdicts differ"
assert len(forked) > 100 and any(changed for _, _, changed, _ in forked), len(forked)
print(os.getpid())
"""


def in_fresh_process(script: str, folder: Path) -> str:
    """Run `script` with `folder` as its argument in a fresh interpreter (workers are forked only
    from a process with one thread); -> the pid it printed."""
    done = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_judging_in_forked_workers_gives_the_verdicts_of_one_process(tmp_path):
    pid = in_fresh_process(FORKED_JUDGING, tmp_path)
    ran = [p.name.split("-")[1] for p in tmp_path.glob("worker-*")]
    assert len(ran) >= 2 and pid not in ran


def test_an_edit_that_decides_alike_rewrites_no_stored_match(tmp_path):
    store = Store(tmp_path / "w.db")
    cfg = config(Rule("zones", any=("re:강소\\s*특구", "실증"), channel="#z"), Rule("bio", any=("바이오",)))
    apply_rules(store, cfg, NOW)
    ingest(store, cfg, ann("1", "2026 강소 특구 실증 공고"), ann("2", "바이오 실증"), ann("3", "관광 안내"))
    edited = config(Rule("zones", any=("re:강소\\s*특구", "실증"), none=("모집취소",), channel="#z"),
                    Rule("bio", any=("바이오",), none=("모집취소",)))
    report = apply_rules(store, edited, NOW)
    assert report is not None and (report.checked, report.changed) == (3, 0)


FORKED_READING = """
import os, sys, threading
from pathlib import Path
from tests import test_rematch as t
from tests.test_rulediff import matches, queued
from watcher.pipeline import rematch
from watcher.models import Rule
from watcher.store import Store

folder = Path(sys.argv[1])
before = t.config(Rule("zones", any=("특구",)), Rule("bio", any=("바이오",)))
after = t.config(Rule("zones", any=("특구", "의료")), Rule("bio", any=("바이오", "실증"), none=("모집",)))
words = ["특구", "바이오", "의료", "공고", "실증", "모집"]
results = []
for name in ("forked", "here"):
    store = Store(folder / f"{name}.db")
    t.apply_rules(store, before, t.NOW)
    t.ingest(store, before, *(t.ann(str(i), f"{words[i % 6]} {words[i // 6 % 6]} {i}") for i in range(300)))
    results.append(store)
rematch.PARALLEL_MIN = 10
plan_part = rematch._plan_part

def noted(part):  # each worker notes the process it ran in and the rows it read
    rewrites, read = plan_part(part)
    (folder / f"reader_{os.getpid()}_{part.low}_{read}").touch()
    return rewrites, read

rematch._plan_part = noted
forked = t.apply_rules(results[0], after, t.NOW)
alive = threading.Event()
thread = threading.Thread(target=alive.wait)
thread.start()  # a second thread: nothing is forked, the rows are read here
here = t.apply_rules(results[1], after, t.NOW)
alive.set()
assert (forked.checked, forked.changed, forked.alerts_queued) == (here.checked, here.changed, here.alerts_queued)
assert forked.checked == 300 and forked.changed > 50, forked
assert matches(results[0]) == matches(results[1]), "matches differ"
assert queued(results[0]) == queued(results[1]), "alerts differ"
print(os.getpid())
"""


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_workers_reading_their_own_part_of_the_window_apply_an_edit_as_one_process_does(tmp_path):
    pid = in_fresh_process(FORKED_READING, tmp_path)
    ran = [p.name.split("_") for p in tmp_path.glob("reader_*")]
    workers = {worker for _, worker, _, _ in ran}
    # every part was read in a forked worker (which worker takes which part is the pool's business:
    # under load one worker may take them all, so the count of workers is not asserted)
    assert workers and pid not in workers
    assert len(ran) >= 2  # the window was cut into parts
    assert sum(int(read) for *_, read in ran) == 300  # the parts cover the window once
