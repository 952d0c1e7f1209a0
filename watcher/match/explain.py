"""Why an announcement matched, in the item's own words: pure, no I/O.

A hit keeps, per matched keyword, the field and the text there as the source published it
(`Hit.words`). People see `강소연구개발특구 (제목)`, `연구개발특구진흥재단 (기관)` — never a keyword
as written in rules.yaml, which may be a regular expression. Stored rule entries (alerts.rules,
one JSON object per rule) carry them as `"words": [{"field": "title", "text": "…"}]`; entries
written before words existed have only `"keywords"`: their plain keywords are shown, their
regular expressions left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from watcher.models import Hit

FIELD_NAMES = {"title": "제목", "summary": "요약", "agency": "기관", "link": "링크", "category": "분류",
               "body": "본문", "attachments": "첨부"}


def word_label(field: str, text: str) -> str:
    """`강소연구개발특구 (제목)`."""
    return f"{text} ({FIELD_NAMES.get(field, field)})"


def words_json(hit: Hit) -> list[dict[str, str]]:
    """The hit's words as stored: [{"field": "title", "text": "강소연구개발특구"}]."""
    return [{"field": f, "text": t} for f, t in hit.words]


def rule_entry(hit: Hit) -> dict[str, Any]:
    """The stored form of one hit in an alert's `rules` list."""
    entry = {"rule": hit.rule, "keywords": list(hit.keywords), "mention": hit.mention, "words": words_json(hit)}
    if hit.label:  # what Slack shows instead of the name (rules.yaml `label`)
        entry["label"] = hit.label
    return entry


def labels(words: Iterable[Any]) -> list[str]:
    """Display labels of stored words ({"field", "text"} objects); malformed ones are skipped."""
    out: list[str] = []
    for word in words or ():
        if isinstance(word, dict) and word.get("text"):
            label = word_label(str(word.get("field") or ""), str(word["text"]))
            if label not in out:
                out.append(label)
    return out


def hit_words(entry: dict[str, Any]) -> list[str]:
    """What to show for one stored rule entry (an item of an alert's `rules`, or a match row with
    `words`/`keywords`): `["강소연구개발특구 (제목)", …]`. Old entries without words show their plain
    keywords; a `re:` keyword is never shown."""
    words = entry.get("words")
    if isinstance(words, list) and words:
        return labels(words)
    return [str(k) for k in entry.get("keywords") or [] if isinstance(k, str) and not k.startswith("re:")]
