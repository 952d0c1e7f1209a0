import json
from pathlib import Path

import pytest

from watcher.errors import ParseError
from watcher.models import Source
from watcher.parse import parse, total_count
from watcher.parse.jsonapi import lookup

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"

BIZINFO_FIELDS = {"id": "pblancId", "title": "pblancNm", "link": "pblancUrl", "published": "creatPnttm",
                  "summary": "bsnsSumryCn", "period": "reqstBeginEndDe", "agency": "jrsdInsttNm"}
BIZINFO = Source(
    id="bizinfo",
    kind="json",
    url="https://apis.data.go.kr/1421000/bizinfo/pblancBsnsService?serviceKey=KEY&dataType=json",
    items="response.body.items.item",
    fields=BIZINFO_FIELDS,
    paging={"page": "pageNo", "size": "numOfRows", "total": "response.body.totalCount"},
)
BIZINFO_OWN = Source(
    id="bizinfo-own",
    kind="json",
    url="https://www.bizinfo.go.kr/uss/rss/bizinfoApi.do?crtfcKey=KEY&dataType=json",
    items="jsonArray",
    fields=BIZINFO_FIELDS,
)
KSTARTUP = Source(
    id="kstartup",
    kind="json",
    url="https://apis.data.go.kr/B552735/kisedKstartupService01/getAnnouncementInformation01?serviceKey=K",
    items="data",
    fields={"id": "pbanc_sn", "title": "biz_pbanc_nm", "link": "detl_pg_url", "summary": "pbanc_ctnt",
            "published": "pbanc_rcpt_bgng_dt", "deadline": "pbanc_rcpt_end_dt", "agency": "pbanc_ntrp_nm"},
)
BRIEFING = Source(
    id="briefing",
    kind="json",
    url="https://apis.data.go.kr/1371000/pressReleaseService/pressReleaseList?serviceKey=K",
    items="response.body.items.item",
    fields={"id": "NewsItemId", "title": "Title", "link": "OriginalUrl", "summary": "DataContents",
            "published": "ApproveDate", "agency": "MinisterCode"},
)


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def run(source: Source, name: str):
    return parse(source, read(name), "application/json;charset=UTF-8", source.url)


def test_bizinfo_sample():
    items = run(BIZINFO, "bizinfo-pblancBsnsService.json")
    assert len(items) == 4
    a = items[0]
    assert a.id == "PBLN_000000000126771"
    assert a.title.startswith("[전북] 코리아 그랜드 페스티벌")
    assert a.link == "https://www.bizinfo.go.kr/sii/siia/selectSIIA200Detail.do?pblancId=PBLN_000000000126771"
    assert a.canonical == a.link
    assert a.published == "2026-09-23T13:50:28+09:00"  # creatPnttm, Korea time
    assert a.deadline == "2026-10-08"  # end of reqstBeginEndDe
    assert a.agency == "전북특별자치도"


def test_bizinfo_summary_is_plain_text():
    items = run(BIZINFO, "bizinfo-pblancBsnsService.json")
    summary = items[0].summary
    assert "<" not in summary and "style=" not in summary
    assert summary.startswith("코리아 그랜드 페스티벌 기간(10.29~11.15) 소상공인의 판매촉진")
    assert "모집합니다. ☞ 온라인으로" in summary  # paragraphs become spaces, not glued together
    assert "물류ㆍ통관ㆍ인증" in items[2].summary  # as published: ㆍ (U+318D) is not rewritten


def test_bizinfo_deadlines():
    items = run(BIZINFO, "bizinfo-pblancBsnsService.json")
    assert [a.deadline for a in items] == ["2026-10-08", "2026-10-19", "2026-10-30", None]
    # `예산 소진시까지` gives no deadline, and the summary is not searched instead
    assert items[3].deadline is None


def test_total_count():
    assert total_count(BIZINFO, read("bizinfo-pblancBsnsService.json")) == 1518
    assert total_count(BIZINFO, read("datagokr-nodata-03.json")) == 0
    assert total_count(BIZINFO, b"not json") is None
    assert total_count(BIZINFO_OWN, read("bizinfo-pblancBsnsService.json")) is None  # no paging


def test_single_item_object_is_one_item():
    items = run(BIZINFO, "datagokr-single-item.json")
    assert len(items) == 1
    assert items[0].id == "PBLN_000000000126901"
    assert items[0].deadline == "2026-10-15"


@pytest.mark.parametrize("name", ["datagokr-nodata-03.json", "datagokr-empty-items-00.json"])
def test_no_data_is_zero_items(name):
    assert run(BIZINFO, name) == []


@pytest.mark.parametrize(
    "source, name, message",
    [
        (BIZINFO, "datagokr-key-not-registered.xml", "parse: API error 30: SERVICE_KEY_IS_NOT_REGISTERED_ERROR"),
        (BIZINFO, "datagokr-quota-exceeded-22.json",
         "parse: API error 22: LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR"),
        (BIZINFO_OWN, "bizinfo-own-api-reqerr.json",
         "parse: API error: 인증키(crtfcKey)가 유효하지 않습니다. 기업마당에서 발급받은 인증키를 확인하세요."),
        (BIZINFO, "bizinfo-own-api-jsonarray.json", "parse: items path 'response.body.items.item' not found"),
        (BIZINFO, "garbage.bin", "parse: not JSON: "),
        (BIZINFO, "not-a-feed-maintenance.html", "parse: not JSON: "),
    ],
)
def test_errors(source, name, message):
    with pytest.raises(ParseError) as err:
        run(source, name)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_missing_items_path_names_what_was_found():
    body = json.dumps({"response": {"header": {"resultCode": "00"}, "body": {"list": [1]}}}).encode()
    found = r"items path 'response.body.items.item' not found \(found up to 'response.body'\)"
    with pytest.raises(ParseError, match=found):
        parse(BIZINFO, body, None, BIZINFO.url)


def test_error_message_beside_missing_items():
    body = json.dumps({"code": -4, "msg": "등록되지 않은 인증키 입니다."}).encode()
    with pytest.raises(ParseError, match="등록되지 않은 인증키"):
        parse(KSTARTUP, body, None, KSTARTUP.url)


def test_bizinfo_own_api():
    items = run(BIZINFO_OWN, "bizinfo-own-api-jsonarray.json")
    assert len(items) == 1
    a = items[0]
    # relative link resolved against the API URL; escaped HTML stripped from the summary
    assert a.link == "https://www.bizinfo.go.kr/sii/siia/selectSIIA200Detail.do?pblancId=PBLN_000000000126950"
    assert a.summary == "강소연구개발특구 기업의 기술사업화를 지원합니다."
    assert a.deadline == "2026-10-16"  # `20260925 ~ 20261016`


def test_kstartup_entities_and_compact_dates():
    items = run(KSTARTUP, "kstartup-announcements.json")
    a, b, c = items
    assert a.id == "176012"  # numbers become strings
    assert a.title == "2026년 창업중심대학 R&D 연계 <의료기기> 분야 예비창업자 모집"
    assert a.summary == "창업중심대학이 의료기기·헬스케어 분야 예비창업자를 모집합니다. ※ 온라인 접수만 가능"
    assert a.link == "https://www.k-startup.go.kr/web/contents/bizpbanc-ongoing.do?schM=view&pbancSn=176012"
    assert a.published == "2026-08-21T00:00:00+09:00"
    assert a.deadline == "2026-09-11"  # deadline field YYYYMMDD
    assert b.deadline is None  # empty deadline field, "예산 소진시까지 상시" in text
    assert c.title == "글로벌 액셀러레이팅 (미국) 참가기업 모집"
    assert c.deadline == "2026-09-04"


def test_policy_briefing_us_dates():
    items = run(BRIEFING, "policy-briefing-press-releases.json")
    a, b = items
    assert a.published == "2026-08-21T08:21:08+09:00"  # 08/21/2026 08:21:08
    assert b.published == "2026-08-20T16:58:44+09:00"
    assert a.agency == "과학기술정보통신부"
    assert a.summary.startswith("과학기술정보통신부는 강소특구")
    assert a.deadline == "2026-10-30"  # 신청기간 in the body text, year from the start
    assert b.deadline is None


def test_dotted_field_paths_and_skipped_entries():
    body = json.dumps(
        {"result": {"rows": [
            {"info": {"name": "강소특구 공고", "url": "/v/1"}, "dates": {"end": "2026.09.30"}},
            "not an object",
            {"info": {}, "dates": {}},
        ]}}
    ).encode()
    source = Source(id="x", kind="json", url="https://api.example.kr/list", items="result.rows",
                    fields={"title": "info.name", "link": "info.url", "deadline": "dates.end"})
    items = parse(source, body, None, source.url)
    assert len(items) == 1
    assert items[0].link == "https://api.example.kr/v/1"
    assert items[0].deadline == "2026-09-30"
    assert items[0].id == "https://api.example.kr/v/1"


def test_lookup():
    data = {"a": {"b": [{"c": 1}, {"c": 2}]}, "e": ""}
    assert lookup(data, "a.b.1.c") == 2
    assert lookup(data, "a.x", "default") == "default"
    assert lookup(data, "e.f") is None


def test_no_data_without_body():
    body = b'{"response":{"header":{"resultCode":"03","resultMsg":"NODATA_ERROR"}}}'
    assert parse(BIZINFO, body, "application/json", BIZINFO.url) == []


def test_period_field_decides_even_without_a_date():
    item = {"pblancId": "P1", "pblancNm": "상시 모집 공고", "pblancUrl": "https://www.bizinfo.go.kr/p/1",
            "creatPnttm": "2026-09-01 10:00:00", "reqstBeginEndDe": "상시 접수",
            "bsnsSumryCn": "<p>접수기간: 2026.09.01 ~ 2026.09.30</p>"}
    body = json.dumps({"response": {"header": {"resultCode": "00"}, "body": {"items": {"item": [item]}}}}).encode()
    assert parse(BIZINFO, body, None, BIZINFO.url)[0].deadline is None
    fields = {k: v for k, v in BIZINFO_FIELDS.items() if k != "period"}
    no_period = Source(id="b", kind="json", url=BIZINFO.url, items=BIZINFO.items, fields=fields)
    assert parse(no_period, body, None, BIZINFO.url)[0].deadline == "2026-09-30"  # from the summary
