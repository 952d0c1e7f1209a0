from datetime import UTC, datetime, timedelta, timezone

import pytest

from watcher.parse.dates import SEOUL, deadline_from_text, parse_date, parse_period, to_date, to_iso

REF = datetime(2026, 8, 21, 9, 0, tzinfo=SEOUL)


@pytest.mark.parametrize(
    "text, expected",
    [
        # RFC 822
        ("Fri, 21 Aug 2026 08:21:08 +0900", "2026-08-21T08:21:08+09:00"),
        ("Fri, 21 Aug 2026 08:21:08 GMT", "2026-08-21T17:21:08+09:00"),
        ("Fri, 21 Aug 2026 08:21:08 -0000", "2026-08-21T17:21:08+09:00"),
        ("Fri, 21 Aug 2026 08:21:08 KST", "2026-08-21T08:21:08+09:00"),
        ("Fri, 21 Aug 2026 08:21 +0900", "2026-08-21T08:21:00+09:00"),
        ("21 Aug 2026", "2026-08-21T00:00:00+09:00"),
        ("Aug 21, 2026", "2026-08-21T00:00:00+09:00"),
        # ISO 8601
        ("2026-08-21T15:38:29+09:00", "2026-08-21T15:38:29+09:00"),
        ("2026-08-21T06:38:29Z", "2026-08-21T15:38:29+09:00"),
        ("2026-08-21T15:38:29.123+0900", "2026-08-21T15:38:29+09:00"),
        ("2026-08-21T15:38:29", "2026-08-21T15:38:29+09:00"),
        ("2026-08-21", "2026-08-21T00:00:00+09:00"),
        # zone-less date and time (bizinfo creatPnttm)
        ("2026-08-21 15:38:29", "2026-08-21T15:38:29+09:00"),
        ("2026-08-21 15:38:29.0", "2026-08-21T15:38:29+09:00"),
        # dotted (NTIS pubDate, boards)
        ("2026.08.21", "2026-08-21T00:00:00+09:00"),
        ("2026.8.21", "2026-08-21T00:00:00+09:00"),
        ("2026. 8. 21.", "2026-08-21T00:00:00+09:00"),
        ("2026. 8. 21.(금)", "2026-08-21T00:00:00+09:00"),
        ("2026.08.21(금) 18:00", "2026-08-21T18:00:00+09:00"),
        ("2026.08.21 15:38", "2026-08-21T15:38:00+09:00"),
        ("2026/08/21", "2026-08-21T00:00:00+09:00"),
        ("2026-8-21", "2026-08-21T00:00:00+09:00"),
        ("  2026.08.21\n", "2026-08-21T00:00:00+09:00"),
        ("등록일 2026.08.21", "2026-08-21T00:00:00+09:00"),
        # compact (K-Startup)
        ("20260821", "2026-08-21T00:00:00+09:00"),
        ("20260821153829", "2026-08-21T15:38:29+09:00"),
        # MM/DD/YYYY (정책브리핑)
        ("08/21/2026 08:21:08", "2026-08-21T08:21:08+09:00"),
        ("08/21/2026", "2026-08-21T00:00:00+09:00"),
        # Korean
        ("2026년 8월 21일", "2026-08-21T00:00:00+09:00"),
        ("2026년 08월 21일 (금)", "2026-08-21T00:00:00+09:00"),
        ("2026년 8월 21일(금요일) 오후 3시 30분", "2026-08-21T15:30:00+09:00"),
        ("2026년 8월 21일 오전 12:10", "2026-08-21T00:10:00+09:00"),
        ("2026.08.21 오후 2:05", "2026-08-21T14:05:00+09:00"),
        # full-width digits
        ("２０２６．０８．２１", "2026-08-21T00:00:00+09:00"),
        # an impossible time keeps the day
        ("2026.08.21 24:00", "2026-08-21T00:00:00+09:00"),
    ],
)
def test_parse_date_forms(text, expected):
    dt = parse_date(text)
    assert dt is not None and dt.tzinfo is not None
    assert to_iso(dt) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "hello", "2026", "2026.13.01", "2026.02.30", "13/45/2026", "Fri, 32 Aug 2026", "08.21",
     "510000000", "상시 접수"],
)
def test_parse_date_rejects(text):
    assert parse_date(text) is None


def test_parse_date_none():
    assert parse_date(None) is None


def test_zoneless_is_seoul():
    assert parse_date("2026-08-21 15:38:29").utcoffset() == timedelta(hours=9)
    assert parse_date("2026.08.21").utcoffset() == timedelta(hours=9)


@pytest.mark.parametrize(
    "dt, expected",
    [
        (datetime(2026, 8, 21, 0, 0, tzinfo=UTC), "2026-08-21T09:00:00+09:00"),
        (datetime(2026, 8, 20, 20, 0, 30, 999, tzinfo=timezone(timedelta(hours=-5))), "2026-08-21T10:00:30+09:00"),
        (datetime(2026, 8, 21, 8, 21, 8), "2026-08-21T08:21:08+09:00"),  # naive: Korea time
    ],
)
def test_to_iso(dt, expected):
    assert to_iso(dt) == expected


def test_to_date_is_the_korean_day():
    assert to_date(datetime(2026, 9, 21, 16, 0, tzinfo=UTC)) == "2026-09-22"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("접수기간 : 2026.04.17 ~ 2026.05.19", "2026-05-19"),
        ("신청기간: 2026-09-22 ~ 2026-10-30", "2026-10-30"),
        ("2026-09-22 ~ 2026-10-30", "2026-10-30"),
        ("2026.04.17 ~ 2026.05.19", "2026-05-19"),
        ("(2026. 9. 1. ~ 2026. 9. 30.)", "2026-09-30"),
        ("2026.09.01. ~ 2026.09.30.", "2026-09-30"),
        ("20260901 ~ 20260930", "2026-09-30"),
        ("접수기간 : 2026.08.24(월) ~ 2026.09.11(금) 18:00", "2026-09-11"),
        ("신청기간: 2026. 8. 21.(금) ~ 9. 4.(금) 16:00", "2026-09-04"),  # end year from the start
        ("2026.12.20 ~ 01.10", "2027-01-10"),  # end before start: next year
        ("~ 9. 30.(수) 18:00", "2026-09-30"),  # year from the reference
        ("~ 5. 31.(금) 18:00", "2027-05-31"),  # would be before the reference: next year
        ("접수 기간은 2026년 9월 1일(화)부터 9월 15일(화)까지입니다", "2026-09-15"),
        ("접수기간은 8월 24일부터 9월 11일까지이다.", "2026-09-11"),
        ("접수마감: 2026.09.15(화) 18:00", "2026-09-15"),
        ("신청 마감 : 9. 15.(화) 17:00", "2026-09-15"),
        ("신청기한 : 9월 30일", "2026-09-30"),
        ("의견 제출기한 : 2026년 9월 10일까지", "2026-09-10"),
        ("10월 30일까지 접수", "2026-10-30"),
        ("2026.08.24 – 2026.09.18", "2026-09-18"),
        ("2026.08.24 ∼ 2026.09.18", "2026-09-18"),
        ("2026.08.24 ～ 2026.09.18", "2026-09-18"),
        # the application period wins over another period named before it
        ("사업기간: 2026.05.01 ~ 2026.12.31, 접수기간: 2026.09.01 ~ 2026.09.15", "2026-09-15"),
        ("사업기간: 2026.10.01 ~ 2027.06.30 신청 마감 : 9. 15.(화) 17:00", "2026-09-15"),
        ("1차 접수기간: 2026.09.01 ~ 2026.09.15 / 2차: 2026.10.01 ~ 2026.10.15", "2026-09-15"),
        ("2026년 의료기기 실증 지원사업 공고 (접수기간: 2026.08.20 ~ 2026.09.18)", "2026-09-18"),
    ],
)
def test_deadline_from_text(text, expected):
    assert deadline_from_text(text, REF) == expected


# Periods as 공고문 write them (../shared/samples/real/attachments/): a time after each date, also
# after a comma; no year, taken from the announcement's published date.
PUBLISHED = datetime(2025, 6, 1, tzinfo=SEOUL)


@pytest.mark.parametrize(
    "text, reference, expected",
    [
        ("① 접수기간 : 2025년 6월 24일(화), 09:00 ~ 6월 30일(월), 18:00 까지", PUBLISHED, "2025-06-30"),  # r11
        ("접수기한 : 2025년 6월 24일(화), 09:00 ~ 6월 30일(월), 18:00까지", PUBLISHED, "2025-06-30"),  # r11
        ("접수기간: 2026. 9. 1.(화), 10:00 ~ 9. 15.(화), 17:00", PUBLISHED, "2026-09-15"),
        ("신청기간 : 2025.06.10.(화) 10:00 ~ 06.23.(월) 17:00", PUBLISHED, "2025-06-23"),
        ("신청기간 : 6.17.(화) ~ 7.08.(화) 18:00까지", PUBLISHED, "2025-07-08"),  # r01: no year
        ("신청기간 : 6.17.(화) ~ 7.08.(화) 18:00까지", datetime(2025, 8, 1, tzinfo=SEOUL), "2026-07-08"),
        ("접수마감 : 6월 20일(금), 18:00", PUBLISHED, "2025-06-20"),
        ("모집기간 : 2025. 6. 2.(월) ~ 6. 20.(금) 16:00 까지", PUBLISHED, "2025-06-20"),
    ],
)
def test_deadline_with_times_and_the_published_year(text, reference, expected):
    assert deadline_from_text(text, reference) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "예산 소진시까지",
        "상시 접수",
        "상시",
        "상시 모집합니다",
        "2026년 사업 공고",
        "공고일자: 2026.08.21",  # a single date is no deadline
        "설명회 일시: 2026. 9. 3.(목) 14:00",
        "사업기간: 2026.05.01 ~ 2026.12.31",  # not an application period
        "행사기간(10.29~11.15) 소상공인 판매촉진",  # no year, not an application period
        "코리아 그랜드 페스티벌 기간(10.29~11.15)",
        "2026-09-22 ~",  # open end
        "지원금 최대 10.5억원",
        "지원 규모 2026년 총 3.5억 원",
    ],
)
def test_no_deadline(text):
    assert deadline_from_text(text, REF) is None


def test_deadline_none_text():
    assert deadline_from_text(None, REF) is None


def test_deadline_without_reference_uses_today():
    today = datetime.now(SEOUL).date()
    got = deadline_from_text("~ 12. 31.")
    assert got is not None and got.startswith(str(today.year))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-09-22 ~ 2026-10-30", "2026-10-30"),
        ("2026-09-23 ~ 2026-10-08", "2026-10-08"),
        ("20260925 ~ 20261016", "2026-10-16"),
        ("~ 2026-10-30", "2026-10-30"),
        ("2026.10.30까지", "2026-10-30"),
        ("2026. 9. 22.(화) ~ 10. 30.(금) 18:00", "2026-10-30"),
        ("예산 소진시까지", None),
        ("상시 접수", None),
        ("2026-09-22 ~", None),
        ("2026-09-22", None),  # a lone date may be the start: never guess
        ("", None),
        (None, None),
    ],
)
def test_parse_period(text, expected):
    assert parse_period(text, REF) == expected
