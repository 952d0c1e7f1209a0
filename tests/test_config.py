"""sources.yaml / rules.yaml: every problem reported at once as `FILE:LINE: message`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from textwrap import dedent

import pytest

from watcher.config.load import (
    check,
    config_fingerprint,
    load_config,
    load_rules,
    load_sources,
    parse_duration,
    parse_size,
)
from watcher.config.yamlcheck import UnitMissing
from watcher.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures" / "config"

SOURCES = """\
sources:
  - id: ntis
    url: https://www.ntis.go.kr/rss.xml
"""
RULES = """\
rules:
  - name: devices
    any: [의료기기]
"""


def write(tmp_path: Path, sources: str = SOURCES, rules: str = RULES) -> tuple[str, str]:
    s, r = tmp_path / "sources.yaml", tmp_path / "rules.yaml"
    s.write_text(dedent(sources), encoding="utf-8")
    r.write_text(dedent(rules), encoding="utf-8")
    return str(s), str(r)


def problems_of(tmp_path: Path, sources: str = SOURCES, rules: str = RULES, env: dict | None = None) -> list[str]:
    s, r = write(tmp_path, sources, rules)
    config, problems, _ = check(s, r, env or {})
    assert (config is None) == bool(problems)
    return [p.replace(s, "sources.yaml").replace(r, "rules.yaml") for p in problems]


# ---------------------------------------------------------------- the contract's own example

def test_contract_example_loads():
    config = load_config(FIXTURES / "contract_sources.yaml", FIXTURES / "contract_rules.yaml",
                         {"DATA_GO_KR_KEY": "k3y"})
    ntis, bizinfo, innopolis = config.sources
    assert (ntis.id, ntis.kind, ntis.name, ntis.tags, ntis.fields) == ("ntis", "feed", "NTIS 국가R&D 사업공고",
                                                                      ("rnd",), {})
    assert (ntis.interval, ntis.timeout, ntis.max_bytes, ntis.line) == (600.0, 20.0, 10_000_000, 6)
    assert bizinfo.url.endswith("serviceKey=k3y&dataType=json")
    assert bizinfo.name == "bizinfo" and bizinfo.items == "response.body.items.item"
    assert bizinfo.fields["agency"] == "jrsdInsttNm" and len(bizinfo.fields) == 7
    assert innopolis.fields == {"title": "td.subject a", "link": "td.subject a@href", "published": "td.date"}
    rules = config.rules
    assert rules.synonyms == (("강소특구", "강소연구개발특구"), ("의료기기", "medical device"))
    assert (rules.max_age, rules.digest_over, rules.ops_channel) == (14 * 86400, 5, None)
    (rule,) = rules.rules
    assert rule.any == ("의료기기", "메드테크", r"re:체외\s*진단")
    assert (rule.all, rule.none, rule.sources) == (("공모",), ("채용", "부고"), ("ntis", "bizinfo"))
    assert (rule.channel, rule.mention, rule.line) == ("#devices", "<!subteam^S0123>", 10)
    assert config.sources_path == str(FIXTURES / "contract_sources.yaml")


def test_file_is_named_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, rules="rules:\n  - name: x\n    chanel: '#a'\n    any: [a]\n")
    with pytest.raises(ConfigError) as exc:
        load_config("sources.yaml", "./rules.yaml", {})
    assert exc.value.problems == ["./rules.yaml:3: unknown key 'chanel' (did you mean 'channel'?)"]
    assert str(exc.value) == exc.value.problems[0]


# ---------------------------------------------------------------- reading the files

def test_missing_file(tmp_path):
    s, r = write(tmp_path)
    os.remove(s)
    config, problems, _ = check(s, r, {})
    assert config is None and problems == [f"{s}: file not found"]  # no cascade into rules' sources


@pytest.mark.parametrize("text, expected", [
    # YAML's syntax errors in plain words (watcher/config/yamlwords.py), at the line to change
    ("sources:\n  - id: a\n    url: 'https://x\n", "sources.yaml:3: a quote opened here is never closed: "
     "end the value with the same quote"),
    ("sources:\n  - id: a\n\turl: x\n", "sources.yaml:3: a tab character: YAML indents with spaces only, "
     "replace the tab with spaces"),
    ("sources: a: b\n", "sources.yaml:1: a second ': ' on this line: a value that contains ': ' must be quoted, "
     "e.g. title: \"a: b\""),
    ("sources:\n  - id: a\n    id: b\n", "sources.yaml:3: duplicate key 'id'"),
    ("", "sources.yaml:1: file is empty (expected a 'sources:' list)"),
    ("# nothing yet\n", "sources.yaml:1: file is empty (expected a 'sources:' list)"),
    ("- id: a\n", "sources.yaml:1: expected a mapping with a 'sources:' list at the top level"),
    ("defaults: {interval: 5m}\n", "sources.yaml:1: missing 'sources' list"),
    ("sources: ntis\n", "sources.yaml:1: 'sources' must be a list"),
])
def test_unreadable_yaml(tmp_path, text, expected):
    assert problems_of(tmp_path, sources=text) == [expected]


def test_not_utf8(tmp_path):
    s, r = write(tmp_path)
    Path(s).write_bytes(b"sources:\n  - id: a\n    name: " + "공고".encode("euc-kr") + b"\n")
    assert check(s, r, {})[1] == [f"{s}:3: not valid UTF-8 text"]


# ---------------------------------------------------------------- sources.yaml, one problem each

def src(body: str) -> str:
    return "sources:\n  - id: a\n" + body


SOURCE_CASES = [
    ("bad id", "sources:\n  - id: NTIS\n    url: https://x.kr/\n",
     "2: source id 'NTIS' must match [a-z0-9_-]+"),
    ("duplicate id", src("    url: https://x.kr/\n  - id: a\n    url: https://y.kr/\n"),
     "4: duplicate source id 'a' (first at line 2)"),
    ("no id", "sources:\n  - url: https://x.kr/\n", "2: source needs an 'id'"),
    ("null id", "sources:\n  - id:\n    url: https://x.kr/\n", "2: source needs an 'id'"),
    ("no url", src(""), "2: source 'a' needs a 'url'"),
    ("ftp url", src("    url: ftp://x.kr/f\n"), "3: 'url' must be an http(s) URL, got 'ftp://x.kr/f'"),
    ("url without host", src("    url: https:///f\n"), "3: 'url' must be an http(s) URL, got 'https:///f'"),
    ("unknown key", src("    url: https://x.kr/\n    intervall: 5m\n"),
     "4: unknown key 'intervall' (did you mean 'interval'?)"),
    ("unknown kind", src("    url: https://x.kr/\n    kind: htm\n"),
     "4: unknown kind 'htm' (use feed, json or html) (did you mean 'html'?)"),
    ("name not a string", src("    url: https://x.kr/\n    name: 2026\n"), "4: 'name' must be a string"),
    ("empty name", src("    url: https://x.kr/\n    name: ' '\n"), "4: 'name' must not be empty"),
    ("tags not a list", src("    url: https://x.kr/\n    tags: rnd\n"), "4: 'tags' must be a list of strings"),
    ("enabled", src("    url: https://x.kr/\n    enabled: maybe\n"), "4: 'enabled' must be true, false or auto"),
    ("json without items", src("    url: https://x.kr/\n    kind: json\n    fields: {title: t}\n"),
     "2: source 'a': 'items' is required for kind json"),
    ("json without title", src("    url: https://x.kr/\n    kind: json\n    items: a.b\n    fields: {link: u}\n"),
     "6: source 'a': fields.title is required for kind json"),
    ("json without fields", src("    url: https://x.kr/\n    kind: json\n    items: a.b\n"),
     "2: source 'a': fields.title is required for kind json"),
    ("json bad path", src("    url: https://x.kr/\n    kind: json\n    items: a..b\n    fields: {title: t}\n"),
     "5: 'items' must be a dotted path like response.body.items, got 'a..b'"),
    ("html bad selector", src("    url: https://x.kr/\n    kind: html\n    items: td..x\n    fields: {title: a}\n"),
     "5: 'items' is not a valid CSS selector: Malformed class selector at position 2"),
    ("html bad field selector",
     src("    url: https://x.kr/\n    kind: html\n    items: tr\n    fields:\n      title: 'a[href@href'\n"),
     "7: fields.title is not a valid CSS selector: Malformed attribute selector at position 1"),
    ("items for feed", src("    url: https://x.kr/\n    items: tr\n"), "4: 'items' is only for kind json or html"),
    ("unknown field", src("    url: https://x.kr/\n    fields:\n      deadline: appdue\n      titel: t\n"),
     "6: unknown field 'titel' (did you mean 'title'?)"),
    ("empty field", src("    url: https://x.kr/\n    fields:\n      deadline:\n"), "5: 'deadline' must not be empty"),
    ("fields not a mapping", src("    url: https://x.kr/\n    fields: [title]\n"), "4: 'fields' must be a mapping"),
    ("encoding", src("    url: https://x.kr/\n    encoding: euc-kr2\n"), "4: unknown encoding 'euc-kr2'"),
    ("interval too short", src("    url: https://x.kr/\n    interval: 500ms\n"),
     "4: 'interval': invalid duration '500ms' (use e.g. 30s, 10m, 2h, 1d)"),
    ("interval under a minute", src("    url: https://x.kr/\n    interval: 30s\n"),
     "4: 'interval' must be at least 1m (a source is polled at most once a minute)"),
    ("interval without unit", src("    url: https://x.kr/\n    interval: 10\n"),
     "4: interval: 10 needs a unit: 10d, 10h, 10m or 10s"),
    ("timeout without unit", src("    url: https://x.kr/\n    timeout: 1.5\n"),
     "4: timeout: 1.5 needs a unit: 1.5d, 1.5h, 1.5m or 1.5s"),
    ("quoted number without unit", src("    url: https://x.kr/\n    alert_after: \"90\"\n"),
     "4: alert_after: 90 needs a unit: 90d, 90h, 90m or 90s"),
    ("timeout zero", src("    url: https://x.kr/\n    timeout: 0s\n"), "4: 'timeout' must be greater than 0"),
    ("max_bytes unit", src("    url: https://x.kr/\n    max_bytes: 10XB\n"),
     "4: 'max_bytes': invalid size '10XB' (use e.g. 512KB, 10MB, 1GB)"),
    ("max_bytes zero", src("    url: https://x.kr/\n    max_bytes: 0\n"), "4: 'max_bytes' must be greater than 0"),
    ("alert_after", src("    url: https://x.kr/\n    alert_after: soon\n"),
     "4: 'alert_after': invalid duration 'soon' (use e.g. 30s, 10m, 2h, 1d)"),
    ("headers not a mapping", src("    url: https://x.kr/\n    headers: [a]\n"),
     "4: 'headers' must be a mapping of names to strings"),
    ("header value", src("    url: https://x.kr/\n    headers:\n      Accept: 1\n"),
     "5: 'headers.Accept' must be a non-empty string"),
    ("paging on feed", src("    url: https://x.kr/\n    paging: {page: p}\n"), "4: 'paging' is only for kind json"),
    ("paging order", src("    url: https://x.kr/\n    kind: json\n    items: a\n    fields: {title: t}\n"
                         "    paging:\n      page: pageNo\n      order: newest\n"),
     "9: 'order' must be newest-first or oldest-first"),
    ("paging max_pages", src("    url: https://x.kr/\n    kind: json\n    items: a\n    fields: {title: t}\n"
                             "    paging: {page: pageNo, max_pages: 0}\n"),
     "7: 'max_pages' must be an integer of 1 or more"),
    ("paging key", src("    url: https://x.kr/\n    kind: json\n    items: a\n    fields: {title: t}\n"
                       "    paging:\n      page: pageNo\n      sise: numOfRows\n"),
     "9: unknown key 'sise' (did you mean 'size'?)"),
    ("paging without page", src("    url: https://x.kr/\n    kind: json\n    items: a\n    fields: {title: t}\n"
                                "    paging: {size: numOfRows}\n"),
     "7: 'paging' needs 'page' (the page-number parameter)"),
    ("entry not a mapping", "sources:\n  - ntis\n", "2: each source must be a mapping with 'id' and 'url'"),
    ("top-level typo", "sources: []\nsource: []\n", "2: unknown key 'source' (did you mean 'sources'?)"),
    ("defaults key", "defaults:\n  timeout: 5s\n  max_byte: 1MB\nsources: []\n",
     "3: unknown key 'max_byte' (did you mean 'max_bytes'?)"),
    ("defaults value", "defaults:\n  interval: often\nsources: []\n",
     "2: 'interval': invalid duration 'often' (use e.g. 30s, 10m, 2h, 1d)"),
    ("unset variable", src("    url: https://x.kr/?key=${DATA_GO_KR_KEY}\n"),
     "3: environment variable DATA_GO_KR_KEY is not set"),
    ("unset variable in defaults", "defaults:\n  headers: {Authorization: 'Bearer ${TOKEN}'}\nsources: []\n",
     "2: environment variable TOKEN is not set"),
]


@pytest.mark.parametrize("name, text, expected", SOURCE_CASES, ids=[c[0] for c in SOURCE_CASES])
def test_source_problem(tmp_path, name, text, expected):
    assert problems_of(tmp_path, sources=text, rules="rules: []\n") == [f"sources.yaml:{expected}"]


# ---------------------------------------------------------------- rules.yaml, one problem each

def rule(body: str) -> str:
    return "rules:\n  - name: r\n" + body


RULE_CASES = [
    ("typo in key", rule("    any: [a]\n    chanel: '#x'\n"), "4: unknown key 'chanel' (did you mean 'channel'?)"),
    ("any is a string", rule("    any: 의료기기\n"), "3: 'any' must be a list of strings"),
    ("none is a string", rule("    any: [a]\n    none: 채용\n"), "4: 'none' must be a list of strings"),
    ("number keyword", rule("    any: [a, 2026]\n"), "3: 'any' must be a list of strings, got 2026 (quote it)"),
    ("empty keyword", rule("    any:\n      - a\n      - '  '\n"), "5: 'any' has an empty entry"),
    ("no any or all", rule("    none: [a]\n"), "2: rule 'r' needs 'any' or 'all'"),
    ("empty any", rule("    any: []\n"), "2: rule 'r' needs 'any' or 'all' with at least one keyword"),
    ("bad regex", rule("    any:\n      - 의료기기\n      - 're:체외('\n"),
     "5: bad regular expression 're:체외(': missing ), unterminated subpattern at position 2"),
    ("empty regex", rule("    all: ['re:']\n"), "3: 'all' has an empty regular expression 're:'"),
    ("unknown match field", rule("    any: [a]\n    fields: [title, sumary]\n"),
     "4: unknown field 'sumary' (did you mean 'summary'?) "
     "(use title, summary, agency, link, category, body, attachments)"),
    ("empty fields", rule("    any: [a]\n    fields: []\n"), "4: 'fields' must not be empty"),
    ("unknown source", rule("    any: [a]\n    sources:\n      - ntis\n      - ntiss\n"),
     "6: unknown source 'ntiss' (did you mean 'ntis'?)"),
    ("empty sources", rule("    any: [a]\n    sources: []\n"),
     "4: 'sources' must list at least one source id (leave it out for every source)"),
    ("empty channel", rule("    any: [a]\n    channel: ''\n"), "4: 'channel' must not be empty"),
    ("mention type", rule("    any: [a]\n    mention: [x]\n"), "4: 'mention' must be a string"),
    ("no name", "rules:\n  - any: [a]\n", "2: rule needs a 'name'"),
    ("duplicate name", rule("    any: [a]\n  - name: r\n    any: [b]\n"),
     "4: duplicate rule name 'r' (first at line 2)"),
    ("entry not a mapping", "rules:\n  - r\n", "2: each rule must be a mapping with 'name' and 'any' or 'all'"),
    ("no rules", "synonyms: []\n", "1: missing 'rules' list"),
    ("synonym group of one", "synonyms:\n  - [a, b]\n  - [강소특구]\nrules: []\n",
     "3: a synonym group needs at least 2 words"),
    ("synonym group not a list", "synonyms:\n  - 강소특구\nrules: []\n",
     "2: each synonym group must be a list of strings, e.g. [강소특구, 강소연구개발특구]"),
    ("synonym empty word", "synonyms:\n  - [a, '']\nrules: []\n", "2: 'synonyms' has an empty entry"),
    ("defaults key", "defaults:\n  digest: 3\nrules: []\n", "2: unknown key 'digest' (did you mean 'digest_over'?)"),
    ("max_age without unit", "defaults:\n  channel: '#a'\n  max_age: 14\nrules: []\n",
     "3: max_age: 14 needs a unit: 14d, 14h, 14m or 14s"),
    ("defaults max_age", "defaults:\n  max_age: 2 weeks ago\nrules: []\n",
     "2: 'max_age': invalid duration '2 weeks ago' (use e.g. 30s, 10m, 2h, 1d)"),
    ("defaults digest_over", "defaults:\n  digest_over: five\nrules: []\n",
     "2: 'digest_over' must be an integer of 0 or more"),
    ("defaults fields", "defaults:\n  fields: title\nrules: []\n", "2: 'fields' must be a list of strings"),
    ("defaults ops_channel", "defaults:\n  ops_channel: ''\nrules: []\n", "2: 'ops_channel' must not be empty"),
    ("unset variable", rule("    any: [a]\n    channel: '${SLACK_CHANNEL}'\n"),
     "4: environment variable SLACK_CHANNEL is not set"),
]


@pytest.mark.parametrize("name, text, expected", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_rule_problem(tmp_path, name, text, expected):
    assert problems_of(tmp_path, rules=text) == [f"rules.yaml:{expected}"]


# ---------------------------------------------------------------- all at once

def test_every_problem_of_both_files_at_once(tmp_path):
    sources = """\
    sources:
      - id: a
        url: https://x.kr/
        interval: 10x
      - id: B
        url: gopher://y
    """
    rules = """\
    defaults:
      chanel: "#x"
    rules:
      - name: r
        any: 의료기기
        sources: [a, zzz]
      - name: r
        all: ["re:("]
    """
    s, r = write(tmp_path, sources, rules)
    with pytest.raises(ConfigError) as exc:
        load_config(s, r, {})
    assert exc.value.problems == [
        f"{s}:4: 'interval': invalid duration '10x' (use e.g. 30s, 10m, 2h, 1d)",
        f"{s}:5: source id 'B' must match [a-z0-9_-]+",
        f"{s}:6: 'url' must be an http(s) URL, got 'gopher://y'",
        f"{r}:2: unknown key 'chanel' (did you mean 'channel'?)",
        f"{r}:5: 'any' must be a list of strings",
        f"{r}:6: unknown source 'zzz'",
        f"{r}:7: duplicate rule name 'r' (first at line 4)",
        f"{r}:8: bad regular expression 're:(': missing ), unterminated subpattern at position 0",
    ]
    assert str(exc.value).splitlines() == exc.value.problems


def test_load_sources_and_load_rules_alone(tmp_path):
    s, r = write(tmp_path, rules=rule("    any: [a]\n    sources: [elsewhere]\n"))
    assert [x.id for x in load_sources(s, {})] == ["ntis"]
    assert load_rules(r, None, {}).rules[0].sources == ("elsewhere",)  # None: source ids unchecked
    with pytest.raises(ConfigError) as exc:
        load_rules(r, ["ntis"], {})
    assert exc.value.problems == [f"{r}:4: unknown source 'elsewhere'"]
    Path(s).write_text("sources:\n  - id: a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources.yaml:2: source 'a' needs a 'url'$"):
        load_sources(s, {})


# ---------------------------------------------------------------- defaults

def test_source_defaults_applied_and_overridden(tmp_path):
    sources = """\
    defaults:
      interval: 30m
      timeout: 5s
      max_bytes: 512KB
      alert_after: 2h
      headers: {User-Agent: gongmo-watcher, Accept: "*/*"}
    sources:
      - id: a
        url: http://a.kr/
      - id: b
        url: https://b.kr/
        kind: html
        items: "table tbody tr"
        fields: {title: "td.subject a", link: "td.subject a@href"}
        enabled: false
        tags: [rnd, 특구]
        interval: 1h
        timeout: 1.5s
        max_bytes: 2MiB
        alert_after: 1d
        encoding: euc-kr
        headers: {user-agent: custom/1.0, Referer: https://b.kr/}
    """
    s, r = write(tmp_path, sources)
    a, b = load_config(s, r, {}).sources
    assert (a.interval, a.timeout, a.max_bytes, a.alert_after) == (1800.0, 5.0, 512_000, 7200.0)
    assert a.headers == {"User-Agent": "gongmo-watcher", "Accept": "*/*"}
    assert (a.kind, a.name, a.enabled, a.tags, a.items, a.encoding, a.paging) == ("feed", "a", True, (), None,
                                                                                  None, None)
    assert (b.interval, b.timeout, b.max_bytes, b.alert_after) == (3600.0, 1.5, 2 * 1024 * 1024, 86400.0)
    assert b.headers == {"Accept": "*/*", "user-agent": "custom/1.0", "Referer": "https://b.kr/"}
    assert (b.enabled, b.tags, b.encoding, b.line) == (False, ("rnd", "특구"), "euc-kr", 10)
    assert b.items == "table tbody tr" and b.fields["link"] == "td.subject a@href"


def test_anchors_under_x_keys_and_merges(tmp_path):
    sources = """\
    x-api: &api {kind: json, items: a.b, fields: {title: t}}
    sources:
      - <<: *api
        id: a
        url: https://x.kr/
        bogus: 1
    """
    assert problems_of(tmp_path, sources=sources) == ["sources.yaml:6: unknown key 'bogus'"]
    s, r = write(tmp_path, sources.replace("        bogus: 1\n", ""))
    assert load_sources(s, {})[0].kind == "json"


def test_source_without_defaults_uses_model_defaults(tmp_path):
    s, r = write(tmp_path)
    (src_,) = load_sources(s, {})
    assert (src_.interval, src_.timeout, src_.max_bytes, src_.alert_after) == (600.0, 20.0, 10_000_000, 86400.0)


def test_json_paging(tmp_path):
    sources = """\
    sources:
      - id: a
        kind: json
        url: https://x.kr/api
        items: response.body.items.item
        fields: {title: t}
        paging: {page: pageNo, size: numOfRows, total: response.body.totalCount, order: oldest-first, max_pages: 3}
      - id: b
        kind: json
        url: https://x.kr/api
        items: items
        fields: {title: t}
        paging: {page: page}
    """
    s, r = write(tmp_path, sources)
    a, b = load_sources(s, {})
    assert a.paging == {"page": "pageNo", "size": "numOfRows", "total": "response.body.totalCount",
                        "order": "oldest-first", "max_pages": 3}
    assert b.paging == {"page": "page", "order": "newest-first", "max_pages": 5}


def test_rule_defaults_applied_and_overridden(tmp_path):
    rules = """\
    defaults:
      channel: "#all-calls"
      fields: [title, agency]
      max_age: 30d
      digest_over: 0
      ops_channel: C0123OPS
    rules:
      - name: plain
        all: ["  디지털 헬스케어  "]
      - name: custom
        any: [AI]
        fields: [summary]
        channel: C0456
    """
    s, r = write(tmp_path, rules=rules)
    rs = load_config(s, r, {}).rules
    plain, custom = rs.rules
    assert (rs.max_age, rs.digest_over, rs.ops_channel) == (30 * 86400, 0, "C0123OPS")
    assert (plain.channel, plain.fields, plain.sources, plain.mention) == ("#all-calls", ("title", "agency"),
                                                                          None, None)
    assert plain.all == ("디지털 헬스케어",) and plain.any == ()  # stripped, otherwise as written
    assert (custom.channel, custom.fields, custom.line) == ("C0456", ("summary",), 10)


def test_rule_defaults_when_file_has_none(tmp_path):
    s, r = write(tmp_path)
    rs = load_config(s, r, {}).rules
    assert (rs.rules[0].channel, rs.rules[0].fields) == ("#gongmo", ("title", "summary"))
    assert (rs.max_age, rs.digest_over, rs.ops_channel, rs.synonyms) == (14 * 86400.0, 5, None, ())


# ---------------------------------------------------------------- durations and sizes

@pytest.mark.parametrize("value, seconds", [
    ("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("14d", 14 * 86400), ("1w", 7 * 86400),
    ("1h30m", 5400), (" 90s ", 90), ("1.5h", 5400), ("10 min", 600), ("0s", 0),
])
def test_parse_duration(value, seconds):
    assert parse_duration(value) == seconds and isinstance(parse_duration(value), float)


@pytest.mark.parametrize("value", ["", "10x", "m", "-5s", "5s ago", "1h-", True, None, [1], -1])
def test_parse_duration_rejects(value):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(value)


@pytest.mark.parametrize("value", [14, 2.5, "14", " 90 ", "0"])
def test_parse_duration_refuses_bare_numbers(value):
    with pytest.raises(UnitMissing, match=r"needs a unit: \S+d, \S+h, \S+m or \S+s$"):
        parse_duration(value)


@pytest.mark.parametrize("value, size", [
    ("10MB", 10_000_000), ("512KB", 512_000), ("1GB", 10**9), ("2000", 2000), (2000, 2000), ("64KiB", 65536),
    ("2MiB", 2 * 1024**2), ("1GiB", 1024**3), ("1.5MB", 1_500_000), ("10mb", 10_000_000), ("100 B", 100),
])
def test_parse_size(value, size):
    assert parse_size(value) == size and isinstance(parse_size(value), int)


@pytest.mark.parametrize("value", ["", "10XB", "MB", "-1MB", "ten", 1.5, True, -1])
def test_parse_size_rejects(value):
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(value)


# ---------------------------------------------------------------- ${VAR} and enabled: auto

BIZINFO = """\
sources:
  - id: bizinfo
    kind: json
    url: https://apis.data.go.kr/x?serviceKey=${DATA_GO_KR_KEY}&dataType=json
    enabled: ENABLED
    items: response.body.items.item
    fields: {title: pblancNm}
    headers: {X-Extra: "${EXTRA}"}
"""


def test_variables_substituted_everywhere(tmp_path):
    rules = rule("    any: ['${WORD}', b]\n    channel: '#${TEAM}-alerts'\n    mention: '<!subteam^${GROUP}>'\n")
    s, r = write(tmp_path, BIZINFO.replace("ENABLED", "true"), rules)
    env = {"DATA_GO_KR_KEY": "a%2Fb", "EXTRA": "1", "WORD": "의료기기", "TEAM": "dev", "GROUP": "S9"}
    config = load_config(s, r, env)
    (biz,) = config.sources
    assert biz.url == "https://apis.data.go.kr/x?serviceKey=a%2Fb&dataType=json"
    assert (biz.headers, biz.enabled, biz.env_missing) == ({"X-Extra": "1"}, True, ())
    (r0,) = config.rules.rules
    assert (r0.any, r0.channel, r0.mention) == (("의료기기", "b"), "#dev-alerts", "<!subteam^S9>")


def test_unset_variable_in_enabled_source_is_an_error(tmp_path):
    s, r = write(tmp_path, BIZINFO.replace("ENABLED", "true"))
    config, problems, notes = check(s, r, {"EXTRA": "", "OTHER": "x"})  # empty counts as unset
    assert config is None and notes == []
    assert problems == [f"{s}:4: environment variable DATA_GO_KR_KEY is not set",
                        f"{s}:8: environment variable EXTRA is not set"]


def test_enabled_auto_without_its_variables_is_disabled_with_a_note(tmp_path):
    s, r = write(tmp_path, BIZINFO.replace("ENABLED", "auto"))
    config, problems, notes = check(s, r, {})
    assert problems == []
    assert notes == [f"{s}:2: note: source 'bizinfo' is disabled until DATA_GO_KR_KEY and EXTRA are set"]
    (biz,) = config.sources
    assert (biz.enabled, biz.env_missing) == (False, ("DATA_GO_KR_KEY", "EXTRA"))
    assert load_config(s, r, {}).sources[0].enabled is False  # load_config accepts it too


def test_enabled_auto_with_one_variable_missing(tmp_path):
    s, r = write(tmp_path, BIZINFO.replace("ENABLED", "auto"))
    config, problems, notes = check(s, r, {"EXTRA": "1"})
    assert notes == [f"{s}:2: note: source 'bizinfo' is disabled until DATA_GO_KR_KEY is set"]
    assert config.sources[0].env_missing == ("DATA_GO_KR_KEY",)


def test_enabled_auto_with_its_variables_is_enabled(tmp_path):
    s, r = write(tmp_path, BIZINFO.replace("ENABLED", "auto"))
    config, problems, notes = check(s, r, {"DATA_GO_KR_KEY": "k", "EXTRA": "1"})
    assert (problems, notes) == ([], [])
    assert (config.sources[0].enabled, config.sources[0].env_missing) == (True, ())


def test_enabled_false_with_unset_variable_is_quiet(tmp_path):
    s, r = write(tmp_path, BIZINFO.replace("ENABLED", "false"))
    config, problems, notes = check(s, r, {})
    assert (problems, notes) == ([], [])
    assert (config.sources[0].enabled, config.sources[0].env_missing) == (False, ("DATA_GO_KR_KEY", "EXTRA"))


def test_auto_source_skips_scheme_check_only_while_disabled(tmp_path):
    text = src("    url: ${BASE}/rss\n    enabled: auto\n")
    assert problems_of(tmp_path, sources=text, env={}) == []
    assert problems_of(tmp_path, sources=text, env={"BASE": "ftp://x.kr"}) == [
        "sources.yaml:3: 'url' must be an http(s) URL, got '${BASE}/rss'"]  # secret not echoed
    assert problems_of(tmp_path, sources=text, env={"BASE": "https://x.kr"}) == []


def test_auto_source_other_problems_still_reported(tmp_path):
    text = src("    url: https://x.kr/?k=${KEY}\n    enabled: auto\n    timeout: never\n")
    assert problems_of(tmp_path, sources=text) == [
        "sources.yaml:5: 'timeout': invalid duration 'never' (use e.g. 30s, 10m, 2h, 1d)"]


# ---------------------------------------------------------------- hot reload

def test_fingerprint_changes_when_a_file_changes(tmp_path):
    s, r = write(tmp_path)
    before = config_fingerprint(s, r)
    assert before == config_fingerprint(s, r) and len(before) == 4
    with open(r, "a", encoding="utf-8") as f:
        f.write("  - name: more\n    any: [b]\n")
    assert config_fingerprint(s, r) != before
    os.remove(s)
    assert config_fingerprint(s, r)[:2] == (None, None)


def test_contract_example_without_its_key(tmp_path):
    for name in ("contract_sources.yaml", "contract_rules.yaml"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    _, problems, notes = check(tmp_path / "contract_sources.yaml", tmp_path / "contract_rules.yaml", {})
    assert problems == [f"{tmp_path / 'contract_sources.yaml'}:15: environment variable DATA_GO_KR_KEY is not set"]


def test_check_names_the_unit_a_bare_duration_needs(tmp_path):
    from click.testing import CliRunner

    from watcher.cli import cli

    sources = "defaults:\n  interval: 10\nsources:\n  - id: a\n    url: https://x.kr/\n    timeout: 20\n"
    rules = "defaults:\n  max_age: 14\nrules:\n  - name: r\n    any: [a]\n"
    s, r = write(tmp_path, sources, rules)
    result = CliRunner().invoke(cli, ["--sources", s, "--rules", r, "check"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{s}:2: interval: 10 needs a unit: 10d, 10h, 10m or 10s",
        f"{s}:6: timeout: 20 needs a unit: 20d, 20h, 20m or 20s",
        f"{r}:2: max_age: 14 needs a unit: 14d, 14h, 14m or 14s",
    ]
