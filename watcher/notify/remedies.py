"""What to do, in Korean, about an alert Slack refuses: for `/status` and the team's guide.
Pure: a recorded `last_error` (`slack: not_in_channel`) and the channel in, one or two sentences out.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

# Slack's error code -> what to do ({ch}: the channel)
_SLACK = {
    "not_in_channel": "봇이 {ch} 채널에 초대되지 않았습니다. 채널에서 `/invite @앱이름`을 입력하세요.",
    "channel_not_found": "{ch} 채널을 찾을 수 없습니다. rules.yaml의 channel 이름을 고치세요 "
                         "(비공개 채널이면 봇을 먼저 초대하세요).",
    "is_archived": "{ch} 채널이 보관되었습니다. 보관을 해제하거나 rules.yaml에서 다른 채널을 지정하세요.",
    "channel_is_archived": "{ch} 채널이 보관되었습니다. 보관을 해제하거나 rules.yaml에서 다른 채널을 지정하세요.",
    "invalid_auth": "Slack 토큰이 올바르지 않습니다. SLACK_BOT_TOKEN에 Bot User OAuth Token(xoxb-…)을 "
                    "따옴표 없이 넣으세요.",
    "not_authed": "Slack 토큰이 없습니다. 환경 파일의 SLACK_BOT_TOKEN을 확인하세요.",
    "token_revoked": "앱이 삭제되었거나 토큰이 폐기되었습니다. 앱을 다시 설치하고 새 토큰을 넣으세요.",
    "account_inactive": "앱이 삭제되었거나 토큰이 폐기되었습니다. 앱을 다시 설치하고 새 토큰을 넣으세요.",
    "token_expired": "토큰이 만료되었습니다. 앱을 다시 설치하고 새 토큰을 넣으세요.",
    "missing_scope": "앱에 chat:write 권한이 없습니다. OAuth & Permissions에서 추가하고 앱을 다시 설치하세요.",
    "restricted_action": "워크스페이스 설정 때문에 {ch} 채널에 쓸 수 없습니다. "
                         "관리자에게 문의하거나 다른 채널을 쓰세요.",
    "ratelimited": "Slack이 잠시 전송을 제한했습니다. 자동으로 다시 보냅니다.",
}
CHANNEL_ERRORS = ("not_in_channel", "channel_not_found", "is_archived", "channel_is_archived", "restricted_action")


_STATE_ORDER = {"failing": 0, "degraded": 1, "stale": 2, "never polled": 3, "ok": 4, "disabled": 5}


def source_remedy(row: dict[str, Any]) -> str:
    """What to do about one source row of /status (watcher.health.source_rows), '' when nothing."""
    from watcher.notify.opstext import what_to_check

    state, error = row.get("state"), row.get("last_error") or ""
    if state == "failing" or (row.get("failures") and error):
        head = "한 번도 수집에 성공하지 못했습니다. " if not row.get("last_success") else ""
        return head + what_to_check(SimpleNamespace(id=row.get("id")), error)  # type: ignore[arg-type]
    if state == "degraded":
        return (f"응답은 오지만 항목의 필드가 비어 있습니다: `watcher sources test {row.get('id')}`로 확인하고 "
                "sources.yaml의 fields를 고치세요.")
    if state == "stale":
        return "새 공고가 한동안 없습니다: 게시판 주소가 바뀌지 않았는지 사이트에서 확인하세요."
    if state == "never polled":
        return "아직 수집하지 않았습니다: `watcher once`를 실행하거나 `watcher run`이 돌고 있는지 확인하세요."
    return ""


def failing_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sources that need attention first (failing, degraded, stale, never polled), then the rest; stable."""
    return sorted(rows, key=lambda r: _STATE_ORDER.get(str(r.get("state")), 4))


def code_of(error: str | None) -> str:
    """`slack: not_in_channel` -> `not_in_channel`."""
    text = (error or "").removeprefix("slack: ")
    return re.split(r"[\s:(]", text, maxsplit=1)[0]


def slack_remedy(error: str | None, channel: str) -> str:
    """What to do about the alerts of `channel` that Slack refused with `error`."""
    code = code_of(error)
    text = _SLACK.get(code)
    if text is None:
        if re.search(r"network|timed? ?out|http 5\d\d|\b5\d\d\b", error or "", re.I):
            return "Slack에 연결하지 못했습니다. 자동으로 다시 보냅니다. 오래가면 서버의 네트워크를 확인하세요."
        text = "Slack이 알림을 받지 않았습니다. `watcher slack test --channel '{ch}'`로 원인을 확인하세요."
    text = text.format(ch=channel)
    if code in CHANNEL_ERRORS:
        text += (f" 채널을 바꿨다면 대기 중인 알림을 옮기세요: `watcher alerts reroute --from '{channel}' "
                 f"--to '#새채널'` (버리려면 `watcher alerts drop --channel '{channel}'`).")
    return text
