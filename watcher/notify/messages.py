"""Slack payloads for alerts: pure functions, plain dicts in and out, no I/O.

Every piece of source text (title, agency, source name, link, ops text) is escaped for Slack
mrkdwn (`&`, `<`, `>`) in the `text` fallback and in every block, and links are rebuilt so that
nothing from a feed can mention people or forge a link. Rule names and matched words are escaped too;
only a rule's `mention` (from rules.yaml, trusted) is put in verbatim.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from watcher.clock import KST
from watcher.deadlines import d_day, deadline_order, is_urgent
from watcher.match.explain import hit_words
from watcher.notify import teamtext
from watcher.notify.callinfo import KINDS
from watcher.parse.links import canonical_link

__all__ = ["KST", "build_digest", "build_message", "build_ops", "d_day", "digest_parts", "escape", "safe_url"]


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
    link = canonical_link(link.strip())  # shown clean: no utm_*, no jsessionid (watcher/parse/links.py)
    try:
        parts = urlsplit(link)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    encoded = escape(quote(link, safe=_URL_SAFE))
    return encoded if len(encoded) <= URL_MAX else None


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
    """`규칙: *강소특구* (강소연구개발특구 (제목), 연구개발특구진흥재단 (기관))`: the rule's label (else its
    name) and the item's words, never a pattern."""
    parts = []
    for rule in rules:
        name = escape(_clip(str(rule.get("label") or rule.get("rule") or "?"), 80))
        words = [escape(_clip(w, 60)) for w in hit_words(rule)][:10]
        parts.append(f"*{name}*" + (f" ({', '.join(words)})" if words else ""))
    return _clip("규칙: " + " · ".join(parts), SECTION_MAX) if parts else ""


def raw_url(link: str | None) -> str | None:
    """An http(s) link percent-encoded like safe_url but not mrkdwn-escaped (for a button's `url`)."""
    url = safe_url(link)
    return url.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") if url else None


def web_url(public_url: str | None, alert: dict[str, Any]) -> str | None:
    """The web page's search for this announcement, when `public_url` is set in rules.yaml defaults."""
    if not public_url:
        return None
    title = " ".join(str(alert.get("title") or "").split())[:100]
    return raw_url(f"{public_url.rstrip('/')}/search?q={quote(title, safe='')}")


def _summary_line(alert: dict[str, Any], limit: int = 150) -> str:
    """The first line of the summary, spaces collapsed, clipped, escaped ("" when there is none)."""
    text = str(alert.get("summary") or "").strip().split("\n", 1)[0]
    return escape(_clip(" ".join(text.split()), limit))


def _deadline_field(deadline: str | None, today: date) -> str | None:
    """`2026-08-28 (D-7)`; D-3 and closer bold with a clock: `:alarm_clock: *2026-08-23 (D-2)*`."""
    shown = _deadline_text(deadline, today)
    if shown and is_urgent(deadline, today):
        return f":alarm_clock: *{shown}*"
    return shown


def _shown_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rule entries without raw patterns: a `re:` keyword is never shown (its matched words are)."""
    return [{**r, "keywords": [k for k in (r.get("keywords") or []) if not str(k).startswith("re:")]}
            for r in rules]


def _button(text: str, url: str, action_id: str) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "url": url, "action_id": action_id}


FILES_SHOWN = 5  # attachments linked in one alert (the rest counted)


def _call_lines(alert: dict[str, Any]) -> str:
    """A read call's lines (watcher/notify/callinfo.py: 접수기간, 지원규모, 지원대상 as the call states
    them) and its attachments linked; "" for a call not read."""
    info = alert.get("call_info") or {}
    lines = []
    for kind in KINDS:
        entry = info.get(kind)
        if isinstance(entry, list | tuple) and len(entry) == 2:
            lines.append(f"*{escape(_clip(str(entry[0]), 20))}*: {escape(_clip(str(entry[1]), 200))}")
    files = [f for f in alert.get("files") or [] if isinstance(f, dict) and f.get("name")]
    if files:
        shown = [_linked(escape(_clip(str(f["name"]), 80)), safe_url(f.get("url"))) for f in files[:FILES_SHOWN]]
        more = f" 외 {len(files) - FILES_SHOWN}개" if len(files) > FILES_SHOWN else ""
        lines.append("*첨부*: " + " · ".join(shown) + more)
    return _clip("\n".join(lines), SECTION_MAX)


def build_message(alert: dict[str, Any], now: datetime, public_url: str | None = None) -> dict[str, Any]:
    """One announcement alert (a row of Store.pending_alerts) -> chat.postMessage payload: the title
    linked on top, a line of summary, fields 출처 / 기관 / 게시일 / 마감, for a call that was read its
    접수기간 / 지원규모 / 지원대상 lines and attachments linked, the matched words, buttons `공고 보기`
    (and `웹에서 보기` with `public_url`); `text` (notifications) = title, D-day, link."""
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
    deadline = _deadline_field(alert.get("deadline"), today)
    if deadline:
        fields.append(("마감", deadline))

    summary = _summary_line(alert)
    top = f"{lead}*{_linked(title, url)}*" + (f"\n{summary}" if summary else "")
    section: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _clip(top, SECTION_MAX)},
        "fields": [{"type": "mrkdwn", "text": f"*{label}*\n{value or '-'}"} for label, value in fields],
    }
    blocks: list[dict[str, Any]] = [section]
    call = _call_lines(alert)
    if call:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": call}})
    line = _rules_line(_shown_rules(rules))
    if line:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": line}]})
    buttons = []
    if raw_url(alert.get("link")):
        buttons.append(_button("공고 보기", raw_url(alert.get("link")) or "", "open_announcement"))
    web = web_url(public_url, alert)
    if web:
        buttons.append(_button("웹에서 보기", web, "open_web"))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    left = d_day(alert.get("deadline"), today)
    text = f"{lead}{title}" + (f" · {left}" if left else "") + (f"\n{url}" if url else "")
    return {"text": _clip(text, TEXT_MAX), "blocks": blocks}


# (mrkdwn line, plain line, the alert) of one announcement in a digest
_Line = tuple[str, str, dict[str, Any]]
DIGEST_TEXT_MAX = 3900  # every `text` fallback stays under 4,000 characters
HEADER_MAX = 150  # Slack: characters in a header block


def _digest_line(alert: dict[str, Any], today: date) -> tuple[str, str]:
    """(mrkdwn line for a block, plain line for the text fallback) of one announcement:
    `• <link|title> — D-3 · agency · source`."""
    title = _title(alert, 150)
    url = safe_url(alert.get("link"))
    source = escape(_clip(" ".join(_source_name(alert).split()), 60))
    agency = escape(_clip(" ".join(str(alert.get("agency") or "").split()), 60))
    left = d_day(alert.get("deadline"), today)
    when = f"{left} ({str(alert['deadline'])[5:10]})" if left else "마감 미정"
    shown = f"*{when}*" if is_urgent(alert.get("deadline"), today) else when
    tail = " · ".join(x for x in (agency, source) if x)
    team = teamtext.suffix(alert)  # ` · 담당 @kim · 지원 예정` once the team acted on the call
    block_line = f"• {_linked(title, url)} — {shown}" + (f" · {tail}" if tail else "") + team
    text_line = f"• {_clip(title, 80)} ({left or '마감 미정'})" + team
    return block_line, text_line


def by_deadline(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Closest deadline first, open-ended last; otherwise as given."""
    return sorted(alerts, key=lambda a: deadline_order(a.get("deadline")))


def build_digest(alerts: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Several announcement alerts for one channel -> one message, or as few as Slack's limits allow
    (50 blocks, 3000 characters a section, `text` under 4,000); parts say `(1/2)`."""
    return [payload for payload, _ in digest_parts(alerts, now)]


def digest_parts(alerts: list[dict[str, Any]], now: datetime, title: str = "새 공고 {n}건"
                 ) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """build_digest, each payload paired with the alerts it lists (sorted by deadline). `title`
    is the header, `{n}` the number of announcements."""
    today = _today(now)
    alerts = by_deadline(alerts)
    mention = _mentions([r for a in alerts for r in alert_rules(a)])
    header = title.format(n=len(alerts))
    reserve = len(header) + len(mention) + 20  # the header line of the text fallback

    parts: list[list[list[_Line]]] = []  # part -> sections -> lines
    sections: list[list[_Line]] = []
    section_len = text_len = 0
    for alert in alerts:
        block_line, text_line = _digest_line(alert, today)
        line = (block_line, text_line, alert)
        new_part = bool(sections) and text_len + len(text_line) + 1 > DIGEST_TEXT_MAX - reserve
        if not new_part and sections and section_len + len(block_line) + 1 <= SECTION_MAX:
            sections[-1].append(line)
            section_len += len(block_line) + 1
            text_len += len(text_line) + 1
            continue
        if new_part or len(sections) >= BLOCKS_MAX - 2:
            parts.append(sections)
            sections, text_len = [], 0
        sections.append([line])
        section_len = len(block_line)
        text_len += len(text_line) + 1
    if sections:
        parts.append(sections)

    result = []
    for number, part in enumerate(parts, 1):
        label = f" ({number}/{len(parts)})" if len(parts) > 1 else ""
        lead = f"{mention} " if mention and number == 1 else ""
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": _clip(header + label, HEADER_MAX)}}]
        if lead:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(mention, SECTION_MAX)}})
        blocks += [
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(b for b, _, _ in section)}}
            for section in part
        ]
        lines = [t for section in part for _, t, _ in section]
        text = "\n".join([f"{lead}{escape(header)}{label}", *lines])
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


# ---- follow-ups of an alert: thread replies, the rewritten message, the morning summary -----------

def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SECTION_MAX)}}


def build_copies(copies: list[dict[str, Any]]) -> dict[str, Any]:
    """A thread note naming the other portals of a call: `다른 곳에도 게시: 기업마당 · NTIS` (linked)."""
    linked, plain_parts = [], []
    for copy in copies:
        name = escape(_clip(" ".join(_source_name(copy).split()) or "?", 60))
        url = safe_url(copy.get("link"))
        linked.append(_linked(name, url))
        plain_parts.append(name + (f" {url}" if url else ""))
    return {"text": _clip("다른 곳에도 게시: " + " · ".join(plain_parts), DIGEST_TEXT_MAX),
            "blocks": [_mrkdwn("다른 곳에도 게시: " + " · ".join(linked))]}


def build_reminder(alert: dict[str, Any], offset_words: str, now: datetime) -> dict[str, Any]:
    """A reminder in the thread: `:alarm_clock: 마감 1일 전: <link|title> · 마감 2026-12-10 (D-1)`."""
    title, url = _title(alert, 300), safe_url(alert.get("link"))
    shown = _deadline_text(alert.get("deadline"), _today(now)) or "-"
    lead = f"{_mentions(alert_rules(alert))} ".lstrip()
    return {"text": _clip(f"{lead}마감 {offset_words} 전: {title} · 마감 {shown}" + (f"\n{url}" if url else ""),
                          DIGEST_TEXT_MAX),
            "blocks": [_mrkdwn(f"{lead}:alarm_clock: *마감 {offset_words} 전*: {_linked(title, url)} · 마감 {shown}")]}


def build_change(alert: dict[str, Any], lines: list[str], via: dict[str, Any] | None, now: datetime
                 ) -> dict[str, Any]:
    """What changed, in the thread: `변경: 마감 12-10 → 12-24 (D-23)`, and the correction it came from."""
    body = escape(" · ".join(lines))
    left = d_day(alert.get("deadline"), _today(now))
    body += f" ({left})" if left else ""
    blocks = [_mrkdwn(f":pencil2: *변경*: {body}")]
    text = f"변경: {body}"
    if via:
        name = escape(_clip(" ".join(_source_name(via).split()), 60))
        title, url = _title(via, 200), safe_url(via.get("link"))
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": _clip(f"{name}: {_linked(title, url)}", SECTION_MAX)}]})
        text += f"\n{name}: {title}" + (f" {url}" if url else "")
    return {"text": _clip(text, DIGEST_TEXT_MAX), "blocks": blocks}


def build_summary(alerts: list[dict[str, Any]], day: str, now: datetime) -> dict[str, Any]:
    """The morning summary of one channel, one message: open matched calls closing within 7 days,
    closest first (what does not fit is counted at the end)."""
    shown = f"{int(day[5:7])}/{int(day[8:10])}" if len(day) >= 10 and day[5:7].isdigit() else day
    title = f"마감 임박 공고 {{n}}건 ({shown}, 7일 이내)"
    parts = digest_parts([{**a, "rules": []} for a in alerts], now, title)
    payload, listed = parts[0]
    rest = len(alerts) - len(listed)
    if rest:
        payload["blocks"].append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"외 {rest}건"}]})
        payload["text"] += f"\n외 {rest}건"
    return payload
