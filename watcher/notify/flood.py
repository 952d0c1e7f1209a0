"""One message for a flood: when one channel has more than FLOOD_OVER announcements to alert in one
round (a rules edit that makes thousands of stored items match, a new source listing its archive),
it gets one summary message, not dozens of digests: the header gives the count, the closest
deadlines are listed as far as one message holds, and a last line says how many more and where to
see them (the desk's matched-calls view when `public_url` is set, else `watcher search --open`).
Every alert of the flood counts as sent with that message. Pure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watcher.notify.messages import digest_parts, escape, raw_url, safe_url

FLOOD_OVER = 50  # announcements for one channel in one round above which one summary message goes


def flood_message(alerts: list[dict[str, Any]], now: datetime, public_url: str | None = None) -> dict[str, Any]:
    """The one summary payload for `alerts` (merged announcement alerts of one channel)."""
    payload, listed = digest_parts(alerts, now, title="새 공고 {n}건 (한꺼번에 일치해 한 메시지로 요약)")[0]
    rest = len(alerts) - len(listed)
    if rest <= 0:
        return payload
    link = safe_url(public_url.rstrip("/") + "/search?matched=1&open=1&sort=deadline") if public_url else None
    where = (f"<{link}|웹 데스크>", f"웹 데스크({raw_url(link)})") if link else ("`watcher search --open`",) * 2
    blocks = list(payload.get("blocks") or [])[:49]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"…외 {rest}건은 {where[0]}에서"}]})
    text = payload["text"] + f"\n…외 {rest}건은 {escape(where[1])}에서"
    return {"text": text[:3990], "blocks": blocks}
