"""docs/CONFIG.md names exactly the keys the config loader accepts, table by table.

The accepted keys come from watcher/config.py's own tables (every module constant named `_*_KEYS` or
`_*_FIELDS`), so a key added there without a row in the doc fails here; a behavioural check makes
sure those tables are what the loader really uses (each listed key is accepted, an unlisted one is not).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from watcher.config import load as config_mod

DOC = Path(__file__).resolve().parent.parent / "docs" / "CONFIG.md"


def tables() -> dict[str, list[str]]:
    """`<!-- keys: NAME -->` followed by a table -> {NAME: the first-column keys}."""
    out: dict[str, list[str]] = {}
    lines = DOC.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if m := re.fullmatch(r"<!-- keys: (\w+) -->", line.strip()):
            keys = []
            for row in lines[i + 3:]:  # marker, header, separator
                if not row.startswith("|"):
                    break
                cell = re.match(r"\|\s*`([^`]+)`\s*\|", row)
                assert cell, f"CONFIG.md: the first cell of a {m.group(1)} row must be `key`: {row}"
                keys.append(cell.group(1))
            assert m.group(1) not in out, f"CONFIG.md: two tables for {m.group(1)}"
            out[m.group(1)] = keys
    return out


def accepted() -> dict[str, tuple[str, ...]]:
    return {name: value for name, value in vars(config_mod).items()
            if re.fullmatch(r"_[A-Z_]+_(KEYS|FIELDS)", name) and isinstance(value, tuple)
            and all(isinstance(v, str) for v in value)}


def test_every_key_table_of_the_loader_has_a_table_in_the_doc() -> None:
    missing = sorted(set(accepted()) - set(tables()))
    assert not missing, f"docs/CONFIG.md has no `<!-- keys: NAME -->` table for {missing}"


def test_doc_tables_name_only_loader_tables() -> None:
    unknown = sorted(set(tables()) - set(accepted()))
    assert not unknown, f"docs/CONFIG.md documents tables watcher/config.py does not have: {unknown}"


@pytest.mark.parametrize("name", sorted(accepted()))
def test_doc_table_lists_exactly_the_accepted_keys(name: str) -> None:
    documented = tables().get(name, [])
    keys = accepted()[name]
    assert sorted(set(keys) - set(documented)) == [], f"{name}: accepted by the loader, not in docs/CONFIG.md"
    assert sorted(set(documented) - set(keys)) == [], f"{name}: in docs/CONFIG.md, not accepted by the loader"
    assert len(documented) == len(set(documented)), f"{name}: a key documented twice"


# ---------------------------------------------------------------- the tables are the loader's

SOURCE = "  - id: s\n    url: https://example.org/{extra}\n"


def problems(tmp_path: Path, sources: str, rules: str = "rules:\n  - name: r\n    any: [x]\n") -> list[str]:
    (tmp_path / "s.yaml").write_text(sources, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(rules, encoding="utf-8")
    _, found, _ = config_mod.check(tmp_path / "s.yaml", tmp_path / "r.yaml", env={})
    return found


def flagged(found: list[str], key: str) -> bool:
    return any(f"unknown key '{key}'" in p or f"unknown field '{key}'" in p for p in found)


CASES = {  # table -> (sources.yaml, rules.yaml) with KEY standing for the key tried
    "_SOURCES_FILE_KEYS": ("KEY: null\nsources:\n" + SOURCE.format(extra=""), None),
    "_SOURCE_DEFAULT_KEYS": ("defaults:\n  KEY: null\nsources:\n" + SOURCE.format(extra=""), None),
    "_SOURCE_KEYS": ("sources:\n" + SOURCE.format(extra="") + "    KEY: null\n", None),
    "_ANN_FIELDS": ("sources:\n" + SOURCE.format(extra="") + "    kind: html\n    items: li\n"
                    "    fields: {title: a, KEY: b}\n", None),
    "_PAGING_KEYS": ("sources:\n" + SOURCE.format(extra="") + "    kind: json\n    items: a\n"
                     "    fields: {title: t}\n    paging: {page: p, KEY: null}\n", None),
    "_BODY_KEYS": ("sources:\n" + SOURCE.format(extra="") + "    method: POST\n    body: {KEY: {a: b}}\n", None),
    "_ID_BASE_KEYS": ("sources:\n" + SOURCE.format(extra="") + "    id_base64: {param: p, keys: [k], KEY: x}\n", None),
    "_RULES_FILE_KEYS": (None, "KEY: null\nrules:\n  - name: r\n    any: [x]\n"),
    "_RULE_DEFAULT_KEYS": (None, "defaults:\n  KEY: null\nrules:\n  - name: r\n    any: [x]\n"),
    "_RULE_KEYS": (None, "rules:\n  - name: r\n    any: [x]\n    KEY: null\n"),
    "_MATCH_FIELDS": (None, "rules:\n  - name: r\n    any: [x]\n    fields: [KEY]\n"),
    "_SYNONYM_GROUP_KEYS": (None, "synonyms:\n  - {KEY: [a, b]}\nrules:\n  - name: r\n    any: [x]\n"),
    "_DETAIL_KEYS": ("sources:\n" + SOURCE.format(extra="") + "    kind: json\n    items: a\n"
                     "    fields: {title: t}\n    detail: {files: a, KEY: null}\n", None),
    "_API_FILE_KEYS": ("sources:\n" + SOURCE.format(extra="") + "    kind: json\n    items: a\n"
                       "    fields: {title: t}\n    detail: {api_files: [{url: u, KEY: null}]}\n", None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_loader_accepts_each_key_of_its_table_and_refuses_others(name: str, tmp_path: Path) -> None:
    sources, rules = CASES[name]
    plain_sources = "sources:\n" + SOURCE.format(extra="")
    plain_rules = "rules:\n  - name: r\n    any: [x]\n"

    def tried(key: str) -> list[str]:
        return problems(tmp_path, (sources or plain_sources).replace("KEY", key),
                        (rules or plain_rules).replace("KEY", key))

    for key in accepted()[name]:
        assert not flagged(tried(key), key), f"{name}: the loader refuses '{key}'"
    assert flagged(tried("zzkey"), "zzkey"), f"{name}: the loader accepts any key here; is this its table?"


def test_every_loader_table_is_tried() -> None:
    assert set(CASES) == set(accepted()), "add a CASES entry for a new key table"
