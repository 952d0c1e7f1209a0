"""The text of ops alerts (the watcher's own messages to `ops_channel`), in Korean like every
message the team reads in Slack: what happened, since when (Korea time), and what to check.
Pure functions; the error text is quoted as the server or parser gave it.
"""

from __future__ import annotations

from datetime import datetime

from watcher.clock import kst_text
from watcher.models import Source


def kst(stamp: str | datetime | None) -> str:
    """A stored time -> `2026-12-01 09:30 KST`."""
    return "?" if stamp is None else kst_text(stamp)


def what_to_check(source: Source, error: str) -> str:
    """One line of advice for the error of a failing source."""
    low = error.lower()
    if "service_key" in low or "servicekey" in low or "key_is_not_registered" in low:
        return ("data.go.kr 인증키를 확인하세요: 이 API에 활용신청이 되어 있는지, URL에 Encoding 키를 넣었는지 "
                "(DATA_GO_KR_KEY).")
    if "limited_number_of_service_requests" in low or "http 429" in low:
        return "요청 한도를 넘었습니다: interval을 늘리거나 하루 호출 한도를 확인하세요."
    if "matched 0 items" in low or low.startswith("parse:"):
        return (f"사이트의 형식이 바뀌었을 수 있습니다: `watcher sources test {source.id}` 로 확인하고 "
                "sources.yaml의 items/fields를 고치세요.")
    if "http 401" in low or "http 403" in low:
        return "접근이 거부되었습니다: URL의 인증키, headers(Referer, User-Agent)나 접속 IP 제한을 확인하세요."
    if "http 404" in low or "http 410" in low:
        return "주소가 없어졌습니다: 사이트에서 새 주소를 찾아 sources.yaml의 url을 고치세요."
    if "http 5" in low:
        return "사이트 서버 오류입니다: 대개 저절로 복구됩니다. 오래가면 사이트 운영 기관에 문의하세요."
    if "timeout" in low or "timed out" in low:
        return "응답이 늦습니다: 사이트 상태를 확인하고, 계속되면 timeout을 늘리세요."
    return "사이트가 열리는지, 이 서버에서 인터넷(DNS, 방화벽, 프록시)에 접속되는지 확인하세요."


def source_down(source: Source, since: str, error: str | None, failures: int) -> str:
    error = error or "?"
    return (f"출처 '{source.label}' ({source.id}) 수집이 {kst(since)}부터 실패하고 있습니다 "
            f"(연속 {failures}회): {error}\n확인할 것: {what_to_check(source, error)}")


def source_up(source: Source, now: datetime) -> str:
    return f"출처 '{source.label}' ({source.id}) 수집이 {kst(now)}에 복구되었습니다."


def config_rejected(problems: str) -> str:
    return ("설정 파일 변경이 거부되었습니다. 마지막으로 올바른 설정이 계속 적용됩니다. "
            "`watcher check` 로 확인하고 고치세요:\n" + problems)
