"""The extract stage's bounds (watcher/extract/worker.py): a hang, a bomb, a truncated file, a lying
extension or a looping record costs only that file: one clear error line (or partial text) within the
set bounds, and the next file reads fine."""

from __future__ import annotations

import io
import os
import struct
import time
import zipfile

import pytest

from tests.attachments import real_file
from tests.cfb import build
from tests.hwp_synth import PARA_TEXT, deflate, file_header, hwp, para, record
from watcher.extract import Limits, extract, run_bounded
from watcher.extract.errors import ExtractError
from watcher.extract.hwp import iter_records, para_text, read_hwp

FAST = Limits(seconds=5, memory_mb=256, max_inflated=8 << 20, max_chars=200_000)


@pytest.fixture(scope="module")
def real():
    """r07 (HWP 공고문), r09 (HWPX), r18 (PDF) and r08 (a large HWP form): skips without the captures."""
    return {p: real_file(p).read_bytes() for p in ("r07", "r08", "r09", "r18")}


def _one_line(result):
    assert "\n" not in result.error and len(result.error) <= 300
    return result.error


def _still_works():
    assert extract(hwp([para("다음 파일 의료기기")]), "after.hwp", FAST).text == "다음 파일 의료기기\n"


# --- truncated files ---------------------------------------------------------------------------

@pytest.mark.parametrize("prefix, name", [("r07", "r07.hwp"), ("r09", "r09.hwpx"), ("r18", "r18.pdf")])
@pytest.mark.parametrize("keep", [0.25, 0.5, 0.9])
def test_truncated_file_is_partial_or_one_error_line(real, prefix, name, keep):
    data = real[prefix]
    cut = data[: int(len(data) * keep)]
    result = extract(cut, name, FAST)
    assert result.ms < 3000
    if result.ok:  # PDFium rebuilds what it can; an HWP falls back to its preview
        assert result.chars > 0
    else:
        assert _one_line(result).split(":")[0] in ("hwp", "hwpx", "pdf", "sniff"), result.error
    _still_works()


def test_truncated_hwp_keeps_the_body_it_still_has(real):
    r08 = real["r08"]
    result = extract(r08[: int(len(r08) * 0.9)], "r08.hwp", FAST)
    assert result.ok and result.partial and result.note.startswith("hwp: truncated file")
    assert result.chars > 5000


def test_truncated_deflate_section_gives_partial_text():
    body = b"".join(para(f"문단 {i} 의료기기 지원") for i in range(2000))
    section = deflate(body)
    # rebuild with the section cut in half: the text read so far is kept, marked partial
    data = build({"FileHeader": file_header(1), "PrvText": "미리보기".encode("utf-16-le"),
                  "BodyText/Section0": section[: len(section) // 2]})
    text = read_hwp(data)
    assert text.partial and "truncated" in text.note
    assert "문단 0 의료기기 지원" in text.text


# --- bombs -------------------------------------------------------------------------------------

def _hwpx(section: bytes, lie: int | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), b"application/hwp+zip")
        z.writestr("Contents/section0.xml", section)
    data = buf.getvalue()
    if lie is None:
        return data
    # lie about the uncompressed size in both the local header and the central directory
    out = bytearray(data)
    size = len(section)
    real = struct.pack("<I", size)
    for at in [i for i in range(len(out) - 4) if out[i:i + 4] == real]:
        out[at:at + 4] = struct.pack("<I", lie)
    return bytes(out)


BOMB_XML = b'<?xml version="1.0"?><hs:sec xmlns:hs="s" xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph">' \
           + b"<hp:p><hp:run><hp:t>" + b" " * (200 << 20) + b"</hp:t></hp:run></hp:p></hs:sec>"


def test_zip_bomb_declared_size_is_refused_before_reading():
    data = _hwpx(BOMB_XML)
    assert len(data) < 1 << 20  # 200 MiB of XML in under 1 MiB
    t = time.perf_counter()
    result = extract(data, "bomb.hwpx", FAST)
    assert "declare" in _one_line(result) and time.perf_counter() - t < 2


def test_zip_bomb_lying_about_its_size_is_stopped_while_inflating():
    data = _hwpx(BOMB_XML, lie=1000)
    result = extract(data, "bomb.hwpx", FAST)
    assert not result.ok or result.chars <= FAST.max_chars
    assert result.ms < 5000
    _still_works()


def test_zip_with_too_many_members_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), b"application/hwp+zip")
        for i in range(1500):
            z.writestr(f"x/{i}", b"")
    result = extract(buf.getvalue(), "many.hwpx", FAST)
    assert "members" in _one_line(result)


def test_hwpx_with_doctype_is_refused():
    xml = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><hs:sec xmlns:hs="s"/>'
    assert "DOCTYPE" in _one_line(extract(_hwpx(xml), "ent.hwpx", FAST))


def test_hwp_deflate_bomb_stops_at_the_cap():
    body = para("앞 문단") + record(0, b"\0" * (300 << 20))  # 300 MiB of one record: ~300 KiB deflated
    result = extract(hwp([body]), "bomb.hwp", FAST)
    assert result.ok and result.partial and "cap" in result.note
    assert "앞 문단" in result.text
    assert result.ms < 5000


# --- lying extensions ---------------------------------------------------------------------------

def test_pdf_named_hwp_is_read_as_pdf(real):
    result = extract(real["r18"], "공고문.hwp", FAST)
    assert result.ok and result.kind == "pdf" and "name says hwp, content is pdf" in result.note


def test_hwp_named_pdf_is_read_as_hwp(real):
    result = extract(real["r07"], "공고문.pdf", FAST)
    assert result.ok and result.kind == "hwp" and result.chars > 1000


def test_html_error_page_named_hwp_is_refused_in_one_line():
    page = "<!DOCTYPE html><html><body>파일을 찾을 수 없습니다</body></html>".encode()
    result = extract(page, "공고문.hwp", FAST)
    assert _one_line(result).startswith("sniff: not HWP, HWPX or PDF (name says hwp")


def test_ole2_that_is_not_hwp_is_refused():
    result = extract(build({"WordDocument": b"x" * 100}), "a.hwp", FAST)
    assert "without FileHeader" in _one_line(result)


def test_zip_that_is_not_hwpx_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", b"<w/>")
    assert _one_line(extract(buf.getvalue(), "a.hwpx", FAST)).startswith("sniff:")


# --- records that would loop a naive reader -----------------------------------------------------

def test_extended_control_in_the_last_units_does_not_loop():
    # a table control (11) starting two units before the end: its 8 units run past the record
    payload = "본문".encode("utf-16-le") + struct.pack("<HH", 11, 0x41)
    assert para_text(payload) == "본문"
    assert para_text(struct.pack("<H", 11)) == ""
    assert para_text(b"\x41") == ""  # odd byte count


def test_records_that_lie_about_their_size_end_the_section():
    records = (para("첫 문단") + record(PARA_TEXT, b"", size=0xFFFFFFFF)  # extended size past the end
               + para("보이지 않는 문단"))
    out = list(iter_records(records))
    assert [r.complete for r in out] == [True, False]
    assert list(iter_records(b"\xff\xff\xff")) == []  # a header cut short
    assert list(iter_records(struct.pack("<I", 0xFFF << 20))) == [(0, 0, b"", False)]


def test_synthetic_looping_hwp_costs_only_that_file():
    body = (para("정상 문단 의료기기") + b"".join(record(0, b"") for _ in range(100_000))  # 100k empty records
            + record(PARA_TEXT, "끝".encode("utf-16-le") + struct.pack("<H", 11))  # control at the very end
            + record(PARA_TEXT, b"", size=0xFFFFFFF0))  # size past the end
    result = extract(hwp([body]), "loop.hwp", FAST)
    assert result.ok and result.partial and "ends inside a record" in result.note
    assert "정상 문단 의료기기" in result.text and "끝" in result.text
    assert result.ms < 2000


def test_distribution_document_falls_back_to_its_preview():
    data = hwp([b"\x01" * 300], flags=0b101, preview="배포용 문서의 미리보기 의료기기", view_text=True)
    result = extract(data, "배포용.hwp", FAST)
    assert result.ok and result.partial and "배포용" in result.note
    assert result.text == "배포용 문서의 미리보기 의료기기"


def test_distribution_document_without_preview_is_one_error_line():
    data = build({"FileHeader": file_header(0b101), "ViewText/Section0": b"\x01" * 300})
    assert "배포용" in _one_line(extract(data, "배포용.hwp", FAST))


# --- the worker's own bounds ----------------------------------------------------------------------

def _spin():
    while True:
        pass


def _sleep():
    time.sleep(60)


def _allocate():
    return bytearray(2 << 30)  # 2 GiB


def _big_answer():
    return "가" * 1_000_000


def _crash():
    os.abort()


def test_a_hang_is_killed_at_the_time_limit():
    for fn in (_spin, _sleep):
        t = time.perf_counter()
        with pytest.raises(ExtractError, match=r"^timeout after 0.5s$"):
            run_bounded(fn, (), Limits(seconds=0.5), 1000)
        assert time.perf_counter() - t < 1.5


def test_memory_is_bounded_in_the_child():
    with pytest.raises(ExtractError, match="memory limit 256 MiB"):
        run_bounded(_allocate, (), Limits(memory_mb=256), 1000)
    assert len(bytearray(64 << 20)) == 64 << 20  # the parent is not limited


def test_output_is_bounded():
    with pytest.raises(ExtractError, match="output over 100000 bytes"):
        run_bounded(_big_answer, (), Limits(), 100_000)


def test_a_crashing_child_is_named():
    with pytest.raises(ExtractError, match="worker killed by SIGABRT"):
        run_bounded(_crash, (), Limits(), 1000)


def test_oversized_and_empty_inputs_are_refused_before_forking():
    assert "limit" in extract(b"x" * 2000, "a.pdf", Limits(max_bytes=1000)).error
    assert extract(b"", "a.pdf").error == "extract: empty file"


def test_text_is_cut_at_max_chars(real):
    result = extract(real["r07"], "r07.hwp", Limits(max_chars=500))
    assert result.chars == 500 and result.partial and "cut at 500" in result.note
