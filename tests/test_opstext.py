"""Ops alerts speak Korean, give Korea times and say what to check."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from watcher.models import Source
from watcher.notify.opstext import config_rejected, source_down, source_up, what_to_check

SRC = Source(id="bizinfo", url="https://apis.data.go.kr/x", name="기업마당")


def test_down_alert_is_korean_with_kst_time_error_and_advice() -> None:
    text = source_down(SRC, "2026-12-01T00:30:00+00:00", "fetch: timeout after 20s", 7)
    first, advice = text.split("\n")
    assert first == ("출처 '기업마당' (bizinfo) 수집이 2026-12-01 09:30 KST부터 실패하고 있습니다 (연속 7회): "
                     "fetch: timeout after 20s")
    assert advice.startswith("확인할 것: 응답이 늦습니다")


def test_recovery_names_the_korea_time() -> None:
    assert source_up(SRC, datetime(2026, 12, 1, 1, 0, tzinfo=UTC)) == (
        "출처 '기업마당' (bizinfo) 수집이 2026-12-01 10:00 KST에 복구되었습니다.")


@pytest.mark.parametrize(("error", "advice"), [
    ("parse: API error 30: SERVICE_KEY_IS_NOT_REGISTERED_ERROR", "data.go.kr 인증키"),
    ("parse: selector 'table tr' matched 0 items", "`watcher sources test bizinfo`"),
    ("fetch: http 404", "새 주소"),
    ("fetch: http 403", "접근이 거부"),
    ("fetch: http 503", "사이트 서버 오류"),
    ("fetch: http 429", "요청 한도"),
    ("fetch: connection refused (apis.data.go.kr)", "DNS, 방화벽, 프록시"),
])
def test_advice_follows_the_error(error: str, advice: str) -> None:
    assert advice in what_to_check(SRC, error)


def test_rejected_config_edit_quotes_the_problems() -> None:
    text = config_rejected("rules.yaml:4: unknown key 'chanel'")
    assert text.startswith("설정 파일 변경이 거부되었습니다.") and text.endswith("rules.yaml:4: unknown key 'chanel'")
