"""Which attachments are read (watcher/extract/choose.py), and what type a file is (filetype.py): table-driven
over real and typical board file names."""

from __future__ import annotations

import io
import zipfile

import pytest

from watcher.extract import is_form, kind_from_name, pick_attachments, rank, sniff

CASES = [
    ("(공고문) 2025년 현장애로지원 기술닥터제 수요기업 모집.hwp", False, 0),
    ("(양식) 기술닥터제 신청서(기업용).hwp", True, 3),
    ("붙임2. (지원신청서) 2025년 지역주력산업육성_상세사업계획서 및 제출서류 양식.hwp", True, 3),
    ("02. (사업계획서) 지산학 브랜치 융복합 지원사업_재공고.hwp", True, 3),  # 공고 in a form's name
    ("2025 한글소재 상품개발지원 공모 (신청서 포함).hwp", False, 0),  # a notice that includes forms
    ("별첨2_개인정보 수집·이용·제공 동의서.hwp", True, 3),
    ("별첨3_추천서.hwp", True, 3),
    ("붙임2. 2025년 제6회 환경분야 청년창업 지원 사업 신청서식.hwp", True, 3),
    ("[붙임] 2025년 G-IN Next Level 10기 서류평가 결과 공고.pdf", False, 1),
    ("3. 18기 드림터 신청매뉴얼.pdf", False, 2),
    ("smtech_download_2025년도+중소벤처기업부+혁신제품+추가등록+2차+모집+안내문.hwp", False, 0),
    ("붙임1._사업신청서_및_계획서_서식.hwp", True, 3),
]


@pytest.mark.parametrize("name, form, expected_rank", CASES)
def test_is_form_and_rank(name, form, expected_rank):
    assert is_form(name) is form
    assert rank(name) == expected_rank


def test_pick_orders_notices_first_skips_forms_and_limits():
    files = ["별첨1_참가신청서.hwp", "3. 신청매뉴얼.pdf", "결과 공고.pdf", "(공고문) 모집.hwp",
             "(공고문) 모집.pdf", "별첨3_추천서.hwp"]
    assert pick_attachments(files, 3) == ["(공고문) 모집.hwp", "(공고문) 모집.pdf", "결과 공고.pdf"]
    assert pick_attachments(files, 0) == []
    assert pick_attachments(["신청서.hwp", "동의서.hwp"], 3) == []


def _zip(first: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo(first), data)
    return buf.getvalue()


def test_magic_bytes():
    assert sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100) == "hwp"
    assert sniff(b"%PDF-1.7\n") == "pdf"
    assert sniff(b"\xef\xbb\xbf\r\n%PDF-1.4") == "pdf"  # junk before the header, as readers allow
    assert sniff(_zip("mimetype", b"application/hwp+zip")) == "hwpx"
    assert sniff(_zip("word/document.xml", b"<w/>")) is None  # a .docx is not HWPX
    assert sniff(b"<!DOCTYPE html><html>...") is None  # an error page saved as .hwp
    assert sniff(b"HWP Document File V3.00") is None  # HWP 3 is not supported
    assert sniff(b"") is None


def test_name_claims():
    assert kind_from_name("공고문.HWP") == "hwp"
    assert kind_from_name("a.hwpx") == "hwpx"
    assert kind_from_name("a.zip") is None
