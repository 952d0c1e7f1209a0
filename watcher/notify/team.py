"""Slack payloads of the team's pipeline (#26): pure functions, plain dicts in and out, no I/O.

- the buttons every alert carries when team actions are on (`내가 맡기` and the five states), and the
  line that says who took the call and what was decided (`담당 <@U0123> · 지원 예정`);
- a digest's per-call menus (a static select for each call: one message, many calls);
- the replies of the `/공모` slash command (only the caller sees them) and the App Home view.

Buttons name the announcement alert of the message (`value` = the alert id): the listener finds the
call from it. Text from sources and from members' names is escaped like every alert
(watcher/notify/messages.py); Slack refuses a message whose blocks break its limits, so every text
is clipped to them here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from watcher.deadlines import deadline_order, is_urgent
from watcher.notify.messages import d_day, escape, safe_url
from watcher.notify.teamtext import ASSIGN, ASSIGN_LABEL, STATES, state_label, status_line, who

PREFIX = "team_"  # every action_id of ours starts so
ASSIGN_ID = f"{PREFIX}assign"
STATE_ID = f"{PREFIX}state_"  # + state code
PICK_ID = f"{PREFIX}pick_"  # + alert id: a digest's menu
HOME_ASSIGN_ID = f"{PREFIX}home_assign"
SELECTS_PER_BLOCK = 25  # Slack: elements in one actions block
BLOCKS_MAX, HOME_BLOCKS_MAX = 50, 100
SECTION_MAX = 3000
LINES_SHOWN = 10  # search results in one reply


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": _clip(text, limit) or "-", "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip_lines(text, SECTION_MAX)}}


def _clip_lines(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- buttons on alerts ------------------------------------------------------------------------

def buttons(alert_id: int) -> list[dict[str, Any]]:
    """`내가 맡기`, then one button per state; each names the alert (`value`)."""
    value = str(alert_id)
    out = [{"type": "button", "text": _plain(ASSIGN_LABEL), "action_id": ASSIGN_ID, "value": value,
            "style": "primary"}]
    out += [{"type": "button", "text": _plain(label), "action_id": STATE_ID + code, "value": value}
            for code, label in STATES.items()]
    return out


def team_blocks(alert_id: int, team: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The status line (when the team acted) and the row of buttons of one alert."""
    blocks: list[dict[str, Any]] = []
    line = status_line(team)
    if line:
        blocks.append({"type": "context", "block_id": f"team_status:{alert_id}",
                       "elements": [{"type": "mrkdwn", "text": line}]})
    blocks.append({"type": "actions", "block_id": f"team:{alert_id}", "elements": buttons(alert_id)})
    return blocks


def decorate_message(payload: dict[str, Any], alert_id: int, team: dict[str, Any] | None) -> dict[str, Any]:
    """An alert's payload (build_message) with the team's line and buttons added at the end."""
    blocks = list(payload.get("blocks") or [])
    extra = team_blocks(alert_id, team)
    if len(blocks) + len(extra) > BLOCKS_MAX:
        return payload
    out = {**payload, "blocks": blocks + extra}
    line = status_line(team)
    if line:
        out["text"] = f"{payload.get('text', '')}\n{line}"
    return out


def _pick(alert_id: int, title: str) -> dict[str, Any]:
    """A digest's menu for one call: placeholder = the call's title, options = the six actions."""
    options = [(ASSIGN, ASSIGN_LABEL), *STATES.items()]
    return {"type": "static_select", "action_id": f"{PICK_ID}{alert_id}",
            "placeholder": _plain(f"처리: {title}", 150),
            "options": [{"text": _plain(label), "value": f"{alert_id}:{code}"} for code, label in options]}


def decorate_digest(payload: dict[str, Any], calls: list[tuple[int, str]]) -> dict[str, Any]:
    """A digest (several calls in one message) with one menu per call, (alert id, title) in the
    order of its lines; unchanged when the menus would not fit in Slack's 50 blocks."""
    picks = [_pick(alert_id, title) for alert_id, title in calls]
    rows = [picks[i:i + SELECTS_PER_BLOCK] for i in range(0, len(picks), SELECTS_PER_BLOCK)]
    blocks = list(payload.get("blocks") or [])
    if not rows or len(blocks) + len(rows) > BLOCKS_MAX:
        return payload
    blocks += [{"type": "actions", "block_id": f"team_digest:{n}", "elements": row} for n, row in enumerate(rows)]
    return {**payload, "blocks": blocks}


def mention_assignee(payload: dict[str, Any], team: dict[str, Any] | None) -> dict[str, Any]:
    """A reminder addressed to whoever took the call: `<@U0123>` first in text and block."""
    person = who(team)
    if not person:
        return payload
    out = {**payload, "text": f"{person} {payload.get('text', '')}"}
    blocks = [dict(b) for b in payload.get("blocks") or []]
    if blocks and blocks[0].get("type") == "section" and blocks[0].get("text"):
        text = blocks[0]["text"]
        blocks[0]["text"] = {**text, "text": _clip_lines(f"{person} {text['text']}", SECTION_MAX)}
        out["blocks"] = blocks
    return out


def parse_action(action: dict[str, Any]) -> tuple[int, str] | None:
    """A block_actions action of ours -> (alert id, `assign` or a state code); None for anything else
    (a link button, another app's action, a forged value)."""
    action_id = str(action.get("action_id") or "")
    if action_id.startswith(PICK_ID):
        value = str((action.get("selected_option") or {}).get("value") or "")
    else:
        value = str(action.get("value") or "")
    if action_id in (ASSIGN_ID, HOME_ASSIGN_ID):
        code = ASSIGN
    elif action_id.startswith(STATE_ID):
        code = action_id[len(STATE_ID):]
    elif action_id.startswith(PICK_ID):
        value, _, code = value.partition(":")
    else:
        return None
    if not value.isdigit() or (code != ASSIGN and code not in STATES):
        return None
    return int(value), code


# ---- lines of calls (slash command, App Home) ---------------------------------------------------

def call_line(row: dict[str, Any], today: date, show_assignee: bool = True) -> str:
    """`• <link|title> — D-3 (12-10) · 기관 · 지원 예정 · 담당 @kim` (names plain: nobody is pinged)."""
    title = escape(_clip(row.get("title") or "(제목 없음)", 120))
    url = safe_url(row.get("link"))
    linked = f"<{url}|{title}>" if url else title
    deadline = row.get("deadline")
    left = d_day(deadline, today)
    when = f"{left} ({str(deadline)[5:10]})" if left else "마감 미정"
    when = f"*{when}*" if is_urgent(deadline, today) else when
    parts = [escape(_clip(row["agency"], 40))] if row.get("agency") else []
    label = row.get("state") if row.get("state") in STATES.values() else state_label(row.get("state"))
    if label:
        parts.append(label)
    if show_assignee and (row.get("assignee") or row.get("assignee_name")):
        name = row.get("assignee_name") or row.get("assignee")
        parts.append(f"담당 @{escape(_clip(str(name), 40))}")
    return f"• {linked} — {when}" + "".join(f" · {p}" for p in parts)


def _sections(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Lines packed into as few sections as Slack's 3,000 characters allow."""
    out: list[list[str]] = []
    size = 0
    for line in lines:
        if not out or size + len(line) + 1 > SECTION_MAX:
            out.append([])
            size = 0
        out[-1].append(line)
        size += len(line) + 1
    return [_mrkdwn("\n".join(chunk)) for chunk in out]


def ephemeral(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A reply only the member sees (slash command, a refused click), never replacing the message."""
    return {"response_type": "ephemeral", "replace_original": False, "text": _clip_lines(text, 3900),
            "blocks": blocks if blocks is not None else [_mrkdwn(escape(text))]}


def search_reply(query: str, rows: list[dict[str, Any]], total: int, today: date,
                 web: str | None = None) -> dict[str, Any]:
    """`/공모 QUERY`: the top results of the search, newest first (as `watcher search QUERY`), each
    with its D-day and state."""
    shown = escape(_clip(query, 80)) or "전체"
    if not rows:
        return ephemeral(f"'{query}' 검색 결과가 없습니다.",
                         [_mrkdwn(f"*{shown}* 검색 결과가 없습니다. `/공모 도움말` 로 쓰는 법을 볼 수 있습니다.")])
    head = f"*{shown}* 검색 결과 {total:,}건" + (f" 중 {len(rows)}건" if total > len(rows) else "")
    blocks = [_mrkdwn(head), *_sections(call_line(r, today) for r in rows)]
    if web:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{web}|웹에서 전체 보기>"}]})
    text = f"{query} 검색 결과 {total}건\n" + "\n".join(f"{r.get('title')}" for r in rows)
    return ephemeral(text, blocks)


def mine_reply(rows: list[dict[str, Any]], today: date) -> dict[str, Any]:
    """`/공모 내담당`: the caller's calls, closest deadline first (closed ones last)."""
    if not rows:
        return ephemeral("맡은 공고가 없습니다.",
                         [_mrkdwn("맡은 공고가 없습니다. 알림의 `내가 맡기` 버튼으로 공고를 맡을 수 있습니다.")])
    rows = sorted(rows, key=lambda r: _by_deadline(r, today))
    blocks = [_mrkdwn(f"*내 담당 공고 {len(rows)}건* (마감 가까운 순)"),
              *_sections(call_line(r, today, show_assignee=False) for r in rows)]
    return ephemeral(f"내 담당 공고 {len(rows)}건", blocks[:BLOCKS_MAX])


def _by_deadline(row: dict[str, Any], today: date) -> tuple[Any, ...]:
    closed = bool(row.get("deadline")) and str(row["deadline"])[:10] < today.isoformat()
    return (closed, deadline_order(row.get("deadline")))


HELP = "\n".join([
    "*`/공모` 쓰는 법* (결과는 나에게만 보입니다)",
    "• `/공모 의료기기` 저장된 공고 검색 (최신순, `watcher search` 와 같은 결과). "
    "여러 단어는 모두 포함, `\"디지털 헬스케어\"` 는 구절",
    "• `/공모 의료기기 마감임박` 접수 중인 공고만, 마감 가까운 순 (`접수중` 은 접수 중인 공고만)",
    "• `/공모 내담당` 내가 맡은 공고, 마감 가까운 순",
    "• `/공모 놓침 <링크> [규칙]` 알림이 왔어야 하는데 오지 않은 공고 표시 (`watcher rules report` 에 나옵니다)",
    "• `/공모 도움말` 이 도움말",
    "알림의 버튼: `내가 맡기` 와 상태 `검토 중` · `지원 예정` · `지원 완료` · `지원 안 함` · `관심 없음` "
    "(마지막 셋은 리마인더를 멈춥니다)",
])


def help_reply() -> dict[str, Any]:
    return ephemeral("/공모 쓰는 법", [_mrkdwn(HELP)])


# ---- App Home -----------------------------------------------------------------------------------

def home_view(mine: list[dict[str, Any]], unassigned: list[dict[str, Any]], today: date) -> dict[str, Any]:
    """The member's App Home: their calls (closest deadline first), then calls closing within 7 days
    that nobody took, each with a `내가 맡기` button naming its alert (`alert_id`)."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(f"내 담당 공고 {len(mine)}건", 150)}]
    if mine:
        mine = sorted(mine, key=lambda r: _by_deadline(r, today))
        blocks += _sections(call_line(r, today, show_assignee=False) for r in mine[:60])[:20]
    else:
        blocks.append(_mrkdwn("맡은 공고가 없습니다. 알림의 `내가 맡기` 버튼으로 공고를 맡을 수 있습니다."))
    blocks += [{"type": "divider"},
               {"type": "header", "text": _plain(f"7일 안에 마감, 담당 없음 {len(unassigned)}건", 150)}]
    if not unassigned:
        blocks.append(_mrkdwn("7일 안에 마감하는 공고 중 담당이 없는 것은 없습니다."))
    room = HOME_BLOCKS_MAX - len(blocks) - 1
    for row in unassigned[:room]:
        section = _mrkdwn(call_line(row, today))
        alert_id = row.get("alert_id")
        if alert_id is not None:
            section["accessory"] = {"type": "button", "text": _plain(ASSIGN_LABEL), "action_id": HOME_ASSIGN_ID,
                                    "value": str(alert_id)}
        blocks.append(section)
    if len(unassigned) > room:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"외 {len(unassigned) - room}건"}]})
    return {"type": "home", "blocks": blocks}
