"""The team's words for a call (#26): its states, the one line that says who took it and what was
decided, and how a state is written on the command line. Pure, a leaf (notify/messages.py and
notify/team.py both read it).

A call has one state across channels, or none yet: `검토 중`, `지원 예정`, `지원 완료`, `지원 안 함`,
`관심 없음`. The last three are final: reminders stop for them. The store keeps a state by its code
(`reviewing`, ...); people see and type the Korean words (spaces optional: `지원예정`).
"""

from __future__ import annotations

from typing import Any

STATES = {  # code -> what people read, in the order of the buttons
    "reviewing": "검토 중",
    "planned": "지원 예정",
    "applied": "지원 완료",
    "declined": "지원 안 함",
    "dismissed": "관심 없음",
}
FINAL = frozenset({"applied", "declined", "dismissed"})  # reminders stop
QUIET = frozenset({"declined", "dismissed"})  # left out of the morning summary and App Home's open list
ASSIGN = "assign"  # the action of `내가 맡기`
ASSIGN_LABEL = "내가 맡기"


def state_code(text: str | None) -> str | None:
    """`지원 예정`, `지원예정` or `planned` -> `planned`; None when it names no state."""
    if not text:
        return None
    wanted = "".join(text.split()).lower()
    for code, label in STATES.items():
        if wanted in (code, "".join(label.split())):
            return code
    return None


def state_label(code: str | None) -> str:
    return STATES.get(code or "", "")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def who(team: dict[str, Any] | None, ping: bool = True) -> str:
    """The assignee as Slack shows a member (`<@U0123>`, rendered `@name`); with ping False the stored
    name as plain text (`@kim`), which notifies nobody. "" when nobody took the call."""
    if not team or not team.get("assignee"):
        return ""
    user = str(team["assignee"])
    if ping and user.replace("_", "").isalnum():
        return f"<@{user}>"
    return "@" + _escape(" ".join(str(team.get("assignee_name") or user).split())[:60])


def status_line(team: dict[str, Any] | None, ping: bool = True) -> str:
    """`담당 <@U0123> · 지원 예정`, `담당 없음 · 검토 중`, `담당 <@U0123>`; "" when nothing was decided."""
    if not team or not (team.get("assignee") or team.get("state")):
        return ""
    person = who(team, ping) or "없음"
    label = state_label(team.get("state"))
    return f"담당 {person}" + (f" · {label}" if label else "")


def suffix(alert: dict[str, Any]) -> str:
    """What a digest or summary line adds for a call the team acted on: ` · 담당 @kim · 지원 예정`
    (names as plain text: a morning summary pings nobody)."""
    line = status_line(alert.get("team"), ping=False)
    return f" · {line}" if line else ""
