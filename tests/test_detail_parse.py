"""A call's detail page and its API files, pure (watcher/parse/detail.py), and the `detail:` config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.shared import real_capture
from watcher.config.load import check
from watcher.fetch.detail import disposition_name, same_site
from watcher.models import ApiFiles, Detail, Source
from watcher.parse.detail import api_files, name_from_url, read_page, tidy
from watcher.parse.jsonapi import parse_json

PAGE_URL = "https://www.example-tp.or.kr/board/view.do?no=7"
LINKS = """<div class="files">
<a href="javascript:fn_egov_downFile('FILE_000000000012345','0')">(공고문) 지원사업 모집.hwp [71 KB]</a>
<a href="#" onclick="fn_egov_downFile('FILE_000000000012345','1'); return false;">(양식) 신청서.hwp</a>
<a href="/download.php?bo_table=notice&amp;wr_id=7&amp;no=0"><span>안내문.pdf</span> (1.2MB)</a>
<a href="/cmm/fms/fileDown.do?atchFileId=FILE_1&amp;fileSn=2" title="붙임 3. 계획서 서식.hwpx">받기</a>
<a href="mailto:tp@example.kr">문의</a>
<a href="javascript:fn_egov_downFile('FILE_000000000012345','0')">(공고문) 지원사업 모집.hwp</a>
</div>"""


def page(detail: Detail, html: str) -> object:
    return read_page(detail, html.encode("utf-8"), "text/html; charset=utf-8", PAGE_URL)


@pytest.mark.parametrize("template, names, urls", [
    ("/cmm/fms/FileDown.do?atchFileId={0}&fileSn={1}", None, [
        "https://www.example-tp.or.kr/cmm/fms/FileDown.do?atchFileId=FILE_000000000012345&fileSn=0",
        "https://www.example-tp.or.kr/cmm/fms/FileDown.do?atchFileId=FILE_000000000012345&fileSn=1",
        "https://www.example-tp.or.kr/download.php?bo_table=notice&wr_id=7&no=0",
        "https://www.example-tp.or.kr/cmm/fms/fileDown.do?atchFileId=FILE_1&fileSn=2"]),
    (None, None, ["https://www.example-tp.or.kr/download.php?bo_table=notice&wr_id=7&no=0",
                  "https://www.example-tp.or.kr/cmm/fms/fileDown.do?atchFileId=FILE_1&fileSn=2"]),
])
def test_file_links_from_hrefs_and_script_calls(template, names, urls):
    found = page(Detail(files="div.files a", file_template=template), LINKS).files
    assert [f.url for f in found] == urls  # once each, mailto: never


def test_file_names_are_the_links_text_without_size_or_a_chosen_attribute():
    found = page(Detail(files="div.files a", file_template="/d?i={0}&n={1}"), LINKS).files
    assert [f.name for f in found] == ["(공고문) 지원사업 모집.hwp", "(양식) 신청서.hwp", "안내문.pdf", "받기"]
    titled = page(Detail(files="div.files a[title]", file_name="@title"), LINKS).files
    assert [f.name for f in titled] == ["붙임 3. 계획서 서식.hwpx"]
    spans = page(Detail(files="div.files a", file_name="span"), LINKS).files  # no span: named by the address
    assert [f.name for f in spans] == ["안내문.pdf", "2"]


def test_body_keeps_a_line_per_block_and_leaves_scripts_out():
    html = """<div class="content"><h4>모집 공고</h4><p>접수기간 : 2026. 9. 1. ~ 9. 30.</p>
    <table><tr><th>지원대상</th><td>부산 소재 <b>중소기업</b></td></tr></table><script>var x = 1;</script>
    <p>&nbsp;</p><p>문의 : 051-000-0000<br>담당자 홍길동</p><!-- 주석 --></div>"""
    found = page(Detail(body="div.content"), html)
    assert found.body.split("\n") == ["모집 공고", "접수기간 : 2026. 9. 1. ~ 9. 30.", "지원대상", "부산 소재 중소기업",
                                      "문의 : 051-000-0000", "담당자 홍길동"]
    assert page(Detail(body="div.nothing-here", period="dd.none"), html).body == ""
    assert page(Detail(period="p:-soup-contains('접수기간')"), html).period == "접수기간 : 2026. 9. 1. ~ 9. 30."


def test_tidy_keeps_lines_as_published():
    assert tidy("  가\u200b나  다 \r\n\n\f라\x07마\t바 ") == "가나 다\n라마 바"
    assert tidy("가" * 10, limit=4) == "가가가가"
    assert tidy(None) == ""


@pytest.mark.parametrize("url, name", [
    ("https://a.kr/files/%EA%B3%B5%EA%B3%A0%EB%AC%B8.hwp", "공고문.hwp"),
    ("https://a.kr/cmm/fms/FileDown.do?atchFileId=FILE_1&fileSn=0", "0"),
    ("https://a.kr/common/COM_FILEDOWN.ASP?a=bbs&b=250604.pdf", "250604.pdf"),
])
def test_name_from_url(url, name):
    assert name_from_url(url) == name


@pytest.mark.parametrize("header, name", [
    ("attachment; filename*=UTF-8''%EA%B3%B5%EA%B3%A0%EB%AC%B8.hwp", "공고문.hwp"),
    ('attachment; filename="%EA%B3%B5%EA%B3%A0%EB%AC%B8.pdf"', "공고문.pdf"),
    ('attachment; filename="' + "공고문.hwp".encode("cp949").decode("latin-1") + '"', "공고문.hwp"),
    ('attachment; filename="' + "공고문.hwp".encode().decode("latin-1") + '"', "공고문.hwp"),
    ("inline", None), (None, None),
])
def test_content_disposition_names(header, name):
    assert disposition_name(header) == name


def test_same_site_ignores_www_and_port_not_the_host():
    assert same_site("https://www.btp.or.kr/kor/x", "http://btp.or.kr:8080/file")
    assert not same_site("https://www.btp.or.kr/kor/x", "https://evil.example/btp.or.kr")
    assert not same_site("https://www.btp.or.kr/", "javascript:void(0)")


# ---- files an API item lists ---------------------------------------------------------------------

BIZINFO = Detail(api_files=(ApiFiles(url="printFlpthNm", name="printFileNm"),
                            ApiFiles(url="flpthNm", name="fileNm", split="@")))
MSIT = Detail(api_files=(ApiFiles(url="file.fileUrl", name="file.fileName", each="files"),))


def test_bizinfo_items_list_their_notice_first_then_the_files_joined_by_at():
    data = json.loads(real_capture("bizinfo-api/bizradar-api_response_sample.json").read_text(encoding="utf-8"))
    first = data["jsonArray"][0]
    assert api_files(BIZINFO, first) == [
        ("경기지역_10월_동행축제_소상공인_라이브커머스_참가기업_모집공고.pdf",
         "https://www.bizinfo.go.kr/cmm/fms/getImageFile.do?atchFileId=FILE_000000000775745&fileSn=0"),
        ("경기지역_10월_동행축제_소상공인_라이브커머스_신청서류(양식).hwpx",
         "https://www.bizinfo.go.kr/cmm/fms/getImageFile.do?atchFileId=FILE_000000000775746&fileSn=0"),
        ("경기지역_10월_동행축제_소상공인_라이브커머스_참가기업_모집공고.hwpx",
         "https://www.bizinfo.go.kr/cmm/fms/getImageFile.do?atchFileId=FILE_000000000775746&fileSn=1")]


def test_bizinfo_xml_answer_gives_the_same_files_through_the_parser():
    source = Source(id="bizinfo", url="https://apis.data.go.kr/x", kind="json", items="response.body.items.item",
                    fields={"id": "pblancId", "title": "pblancNm"}, detail=BIZINFO)
    anns = parse_json(source, real_capture("bizinfo/jarimaegim-bizinfo.sample.xml").read_bytes(), None, source.url)
    assert len(anns) == 3
    names = [name for name, _ in anns[2].files]
    assert names[0].startswith("1. [공고문] 2026년 푸드테크") and len(names) == 3
    assert all(url.startswith("https://www.bizinfo.go.kr/cmm/fms/getImageFile.do?atchFileId=FILE_")
               and "&amp;" not in url for _, url in anns[2].files)


def test_msit_items_list_files_one_per_entry_and_some_have_none():
    items = json.loads(real_capture("msit-api/g-crawler-msit_data.json").read_text(encoding="utf-8"))
    first = api_files(MSIT, items[0])
    assert [n for n, _ in first] == ["[붙임1] 2026년도 환태평양 연구협력 이니셔티브 사업 공고문(안).hwpx",
                                     "[붙임1] 2026년도 환태평양 연구협력 이니셔티브 사업 공고문(안).odt",
                                     "[붙임1] 2026년도 환태평양 연구협력 이니셔티브 사업 공고문(안).hwp",
                                     "[붙임2] 제출 양식.zip"]
    assert first[0][1] == "https://www.msit.go.kr/ssm/file/fileDown.do?atchFileNo=52531&fileOrd=1"
    assert sum(1 for item in items if not api_files(MSIT, item)) == 4  # four items have no `files`


def test_api_files_keep_only_web_addresses_once():
    item = {"a": "javascript:x()@https://f.kr/1@https://f.kr/1@ftp://f.kr/2", "n": "x@공고.hwp@공고.hwp@y"}
    assert api_files(Detail(api_files=(ApiFiles(url="a", name="n", split="@"),)), item) == [
        ("공고.hwp", "https://f.kr/1")]
    assert api_files(None, item) == []


# ---- the `detail:` mapping in sources.yaml --------------------------------------------------------

def problems(tmp_path: Path, detail: str, kind: str = "html") -> list[str]:
    extra = "    items: tr\n    fields: {title: a}\n" if kind != "feed" else ""
    (tmp_path / "s.yaml").write_text(f"sources:\n  - id: s\n    url: https://x.kr/\n    kind: {kind}\n{extra}"
                                     f"    detail: {detail}\n", encoding="utf-8")
    (tmp_path / "r.yaml").write_text("rules:\n  - name: r\n    any: [x]\n    fields: [title, body, attachments]\n",
                                     encoding="utf-8")
    config, found, _ = check(tmp_path / "s.yaml", tmp_path / "r.yaml", env={})
    return found if found else [config.sources[0].detail]


@pytest.mark.parametrize("detail, kind, message", [
    ("{}", "html", "s.yaml:7: 'detail' needs body, period or files (the detail page), or api_files"),
    ("{body: 'div[', files: a}", "html", "s.yaml:7: detail.body is not a valid CSS selector"),
    ("{files: a, file_template: '/d.do?id=x'}", "html", "'file_template' needs {0}, {1}"),
    ("{files: a, max_files: 11}", "html", "'max_files' must be an integer from 0 to 10"),
    ("{files: a, wait: 30}", "html", "wait: 30 needs a unit"),
    ("{api_files: [{url: a}]}", "html", "'api_files' is only for kind json"),
    ("{api_files: [{name: n}]}", "json", "each of 'api_files' needs 'url'"),
    ("{api_files: [{url: 'a..b'}]}", "json", "'url' must be a dotted path"),
    ("{filez: a}", "html", "unknown key 'filez' (did you mean 'files'?)"),
    ("[a]", "html", "'detail' must be a mapping"),
])
def test_detail_config_problems_name_their_line(tmp_path, detail, kind, message):
    found = problems(tmp_path, detail, kind)
    assert any(message in str(p) for p in found), found


def test_detail_config_is_read_into_the_source(tmp_path):
    [detail] = problems(tmp_path, "{api_files: [{url: printFlpthNm, name: printFileNm}, "
                                  "{url: flpthNm, name: fileNm, split: '@'}], max_files: 2, wait: 0s}", "json")
    assert detail == Detail(api_files=(ApiFiles("printFlpthNm", "printFileNm"), ApiFiles("flpthNm", "fileNm",
                                                                                          split="@")),
                            max_files=2, wait=0.0)
    [feed] = problems(tmp_path, "{body: 'div.view', period: 'li.date'}", "feed")  # a feed item's page
    assert feed.page and feed.max_files == 3 and feed.wait == 120.0
