"""Slack payloads for alerts: pure functions, plain dicts in and out, no I/O.

Every piece of source text (title, agency, source name, link, ops text) is escaped for Slack
mrkdwn (`&`, `<`, `>`) in the `text` fallback and in every block, and links are rebuilt so that
nothing from a feed can mention people or forge a link. Rule names and matched words are escaped too;
only a rule's `mention` (from rules.yaml, trusted) is put in verbatim.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlsplit

from .explain import hit_words

KST = timezone(timedelta(hours=9), "KST")

SECTION_MAX = 3000  # Slack: characters in one section text
BLOCKS_MAX = 50  # Slack: blocks in one message
TEXT_MAX = 39_000  # Slack truncates `text` at 40,000 characters; keep a margin
URL_MAX = 1200  # longer links are dropped rather than cut

# Characters kept as they are in a link; everything else (`|`, `<`, `>`, quotes, spaces,
# non-ASCII, control characters) is percent-encoded.
_URL_SAFE = "!#$%&'()*+,-./:;=?@[]~_"


def escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_url(link: str | None) -> str | None:
    """An http(s) link made safe to put inside `<...|...>`, escaped; None when unusable."""
    if not link:
        return None
    link = link.strip()
    try:
        parts = urlsplit(link)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    encoded = escape(quote(link, safe=_URL_SAFE))
    return encoded if len(encoded) <= URL_MAX else None


def d_day(deadline: str | None, today: date) -> str | None:
    """`D-7`, `D-day`, or `마감` once the deadline has passed; None without a readable deadline."""
    if not deadline:
        return None
    try:
        due = date.fromisoformat(deadline[:10])
    except ValueError:
        return None
    days = (due - today).days
    if days > 0:
        return f"D-{days}"
    return "D-day" if days == 0 else "마감"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _today(now: datetime) -> date:
    return (now.astimezone(KST) if now.tzinfo else now).date()


def alert_rules(alert: dict[str, Any]) -> list[dict[str, Any]]:
    raw = alert.get("rules") or []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    return [r for r in raw if isinstance(r, dict)]


def _mentions(rules: list[dict[str, Any]]) -> str:
    seen: list[str] = []
    for rule in rules:
        mention = (rule.get("mention") or "").strip()
        if mention and mention not in seen:
            seen.append(mention)
    return " ".join(seen)


def _source_name(alert: dict[str, Any]) -> str:
    return str(alert.get("source_name") or alert.get("source") or "")


def _deadline_text(deadline: str | None, today: date) -> str | None:
    if not deadline:
        return None
    left = d_day(deadline, today)
    shown = escape(_clip(deadline, 40))
    return f"{shown} ({left})" if left else shown


def _title(alert: dict[str, Any], limit: int) -> str:
    return escape(_clip(" ".join(str(alert.get("title") or "").split()) or "(제목 없음)", limit))


def _linked(title: str, url: str | None) -> str:
    return f"<{url}|{title}>" if url else title


def _rules_line(rules: list[dict[str, Any]]) -> str:
    """`규칙: *gangso* (강소연구개발특구 (제목), 연구개발특구진흥재단 (기관))`: the item's words, never a pattern."""
    parts = []
    for rule in rules:
        name = escape(_clip(str(rule.get("rule") or "?"), 80))
        words = [escape(_clip(w, 60)) for w in hit_words(rule)][:10]
        parts.append(f"*{name}*" + (f" ({', '.join(words)})" if words else ""))
    return _clip("규칙: " + " · ".join(parts), SECTION_MAX) if parts else ""


def build_message(alert: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One announcement alert (a row of Store.pending_alerts) -> chat.postMessage payload."""
    rules = alert_rules(alert)
    mention = _mentions(rules)
    lead = f"{mention} " if mention else ""
    title = _title(alert, 300)
    url = safe_url(alert.get("link"))
    today = _today(now)

    fields = [("출처", escape(_clip(_source_name(alert), 200)))]
    if alert.get("agency"):
        fields.append(("기관", escape(_clip(str(alert["agency"]), 200))))
    if alert.get("published"):
        fields.append(("게시일", escape(str(alert["published"])[:10])))
    deadline = _deadline_text(alert.get("deadline"), today)
    if deadline:
        fields.append(("마감", deadline))

    section: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": f"{lead}*{_linked(title, url)}*"},
        "fields": [{"type": "mrkdwn", "text": f"*{label}*\n{value or '-'}"} for label, value in fields],
    }
    blocks: list[dict[str, Any]] = [section]
    line = _rules_line(rules)
    if line:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": line}]})
    text = f"{lead}{title}" + (f"\n{url}" if url else "")
    return {"text": text, "blocks": blocks}


# (mrkdwn line, plain line, the alert) of one announcement in a digest
_Line = tuple[str, str, dict[str, Any]]


def _digest_line(alert: dict[str, Any], today: date) -> tuple[str, str]:
    """(mrkdwn line for a block, plain line for the text fallback) of one announcement."""
    title = _title(alert, 150)
    url = safe_url(alert.get("link"))
    source = escape(_clip(" ".join(_source_name(alert).split()), 60))
    deadline = _deadline_text(alert.get("deadline"), today)
    tail = source + (f" · 마감 {deadline}" if deadline else "")
    block_line = f"• {_linked(title, url)} — {tail}"
    text_line = f"• {title}" + (f" {url}" if url else "") + f" — {tail}"
    return block_line, text_line


def build_digest(alerts: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Several announcement alerts for one channel -> one message, or as few as Slack's limits allow
    (50 blocks, 3000 characters a section, 40k characters of text); parts say `(1/2)`."""
    return [payload for payload, _ in digest_parts(alerts, now)]


def digest_parts(alerts: list[dict[str, Any]], now: datetime) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """build_digest, each payload paired with the alerts it lists (input order kept)."""
    today = _today(now)
    reserve = 1000  # the header line and mentions, in text and in its own block

    parts: list[list[list[_Line]]] = []  # part -> sections -> lines
    sections: list[list[_Line]] = []
    section_len = text_len = 0
    for alert in alerts:
        block_line, text_line = _digest_line(alert, today)
        line = (block_line, text_line, alert)
        new_part = bool(sections) and text_len + len(text_line) + 1 > TEXT_MAX - reserve
        if not new_part and sections and section_len + len(block_line) + 1 <= SECTION_MAX:
            sections[-1].append(line)
            section_len += len(block_line) + 1
            text_len += len(text_line) + 1
            continue
        if new_part or len(sections) >= BLOCKS_MAX - 1:
            parts.append(sections)
            sections, text_len = [], 0
        sections.append([line])
        section_len = len(block_line)
        text_len += len(text_line) + 1
    if sections:
        parts.append(sections)

    mention = _mentions([r for a in alerts for r in alert_rules(a)])
    result = []
    for number, part in enumerate(parts, 1):
        label = f" ({number}/{len(parts)})" if len(parts) > 1 else ""
        lead = f"{mention} " if mention and number == 1 else ""
        header = f"{lead}*새 공모 {len(alerts)}건*{label}"
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": header}}]
        blocks += [
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(b for b, _, _ in section)}}
            for section in part
        ]
        lines = [t for section in part for _, t, _ in section]
        text = "\n".join([f"{lead}새 공모 {len(alerts)}건{label}", *lines])
        result.append(({"text": text, "blocks": blocks}, [a for section in part for _, _, a in section]))
    return result


def build_ops(alert: dict[str, Any]) -> dict[str, Any]:
    """An ops alert (kind='ops': source health, config problems) -> payload. Its text may quote
    what a server answered, so it is escaped like feed text."""
    body = escape(_clip(str(alert.get("text") or "").strip() or "(no detail)", SECTION_MAX - 200))
    return {
        "text": f":warning: gongmo-watcher: {body}",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f":warning: *gongmo-watcher*\n{body}"}}],
    }
