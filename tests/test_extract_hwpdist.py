"""배포용 (distribution) HWP: the body is decrypted from `ViewText/Section*` (watcher/extract/hwpdist.py)
and read whole; a record or stream that cannot be decrypted falls back to the PrvText preview, partial,
saying why, and with no preview either the file is one error line. The files are built here, encrypted
as Hancom's format documents it (tests/hwp_synth.py); real 배포용 files are read only when
GONGMO_REAL_DIST_HWP names a folder holding them (none is kept in the repository)."""

from __future__ import annotations

import io
import os
import random
import zlib
from pathlib import Path

import olefile
import pytest

from tests.attachments import word_coverage
from tests.hwp_synth import KEY_TEXT, dist_hwp, dist_record, dist_stream, para, record
from watcher.extract import Limits, extract, extract_file, hwp
from watcher.extract.errors import ExtractError
from watcher.extract.hwp import read_hwp
from watcher.extract.hwpdist import decrypt_section, msvc_rand, unscramble

FAST = Limits(seconds=5, memory_mb=256, max_inflated=8 << 20, max_chars=200_000)
LINES = [f"{i}. 의료기기 실증 지원사업 세부 안내 문단 {i}번, 신청기간 2026. 5. 1. ~ 2026. 5. 31." for i in range(200)]
BODY = b"".join(para(line) for line in LINES) + para("표 안의 셀 문단 디지털헬스케어", level=2)
PREVIEW = "\n".join(LINES)[:1000].strip()
FALLBACK_END = "; text is the PrvText preview only"


def _text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


# --- the cipher's parts ---------------------------------------------------------------------------

def test_msvc_rand_gives_the_visual_c_sequence():
    assert msvc_rand(1, 5) == [41, 18467, 6334, 26500, 19169]  # rand() after srand(1) in every MSVC CRT


def test_unscramble_undoes_the_scramble_and_keeps_the_seed():
    head = dist_record()[4:]
    plain = unscramble(head)
    assert plain[:4] == head[:4] and plain != head and unscramble(plain) == head
    at = 4 + (plain[0] & 15)
    assert plain[at:at + 80].decode("utf-16-le") == KEY_TEXT


@pytest.mark.parametrize("stream, why", [
    (b"", "0 bytes, shorter than a record header"),
    (dist_record()[:100], "100 bytes, cut inside its 260-byte distribution record"),
    (dist_record(), "0 encrypted bytes, less than one AES block"),
    (dist_record() + b"\0" * 15, "15 encrypted bytes, less than one AES block"),
    (record(28, b"\0" * 200) + b"\0" * 64, "record tag 28 of 200 bytes, not the 256-byte distribution record"),
    (record(28, b"\0" * 5000) + b"\0" * 64, "record tag 28 of 5000 bytes, not the 256-byte"),
])
def test_a_stream_without_a_sound_record_is_one_clear_error(stream, why):
    with pytest.raises(ExtractError) as e:
        decrypt_section(stream)
    assert why in str(e.value) and "\n" not in str(e.value)


# --- reading a 배포용 file ---------------------------------------------------------------------------

def test_distribution_body_is_read_whole_not_the_preview():
    data = dist_hwp([dist_stream(BODY)], preview=PREVIEW)
    result = extract(data, "배포용 공고문.hwp", FAST)
    assert result.ok and result.kind == "hwp" and not result.partial and result.note == ""
    assert result.text == _text(LINES + ["표 안의 셀 문단 디지털헬스케어"])
    assert result.chars > 10 * len(PREVIEW)


def test_uncompressed_distribution_body_is_read():
    data = dist_hwp([dist_stream(BODY, compressed=False)], compressed=False)
    text = read_hwp(data)
    assert not text.partial and text.text.startswith(LINES[0]) and "디지털헬스케어" in text.text


def test_every_section_is_read_in_order():
    data = dist_hwp([dist_stream(para("첫 구역 본문")), dist_stream(para("둘째 구역 본문"), seed=77)])
    assert read_hwp(data).text == "첫 구역 본문\n둘째 구역 본문\n"


def _garbled_key_text() -> bytes:
    head = bytearray(dist_record())
    at = 4 + 4 + (head[4] & 15)  # the key text sits at 4 + (seed byte 0 & 15) in the payload
    head[at:at + 2] = bytes(b ^ 0x5A for b in head[at:at + 2])
    return bytes(head)


@pytest.mark.parametrize("head, why", [
    (_garbled_key_text(), "distribution record garbled (no SHA-1 text at byte"),
    (record(29, dist_record()[4:]), "starts with record tag 29 of 256 bytes, not the 256-byte distribution record"),
    (dist_record("0" * 40), "does not inflate once decrypted (wrong key or damaged stream)"),
], ids=["key-text-garbled", "wrong-tag", "wrong-key"])
def test_a_wrong_or_garbled_record_falls_back_to_the_preview(head, why):
    data = dist_hwp([dist_stream(BODY, head=head)], preview=PREVIEW)
    result = extract(data, "배포용.hwp", FAST)
    assert result.ok and result.partial and result.text == PREVIEW
    assert result.note.startswith("hwp: 배포용 body: ViewText/Section0") and why in result.note
    assert result.note.endswith(FALLBACK_END)


def test_a_garbled_second_section_costs_that_section_only():
    data = dist_hwp([dist_stream(para("첫 구역 본문")), dist_stream(para("둘째"), head=_garbled_key_text())])
    text = read_hwp(data)
    assert text.partial and text.text == "첫 구역 본문\n"
    assert text.note.startswith("hwp: ViewText/Section1: distribution record garbled")


def test_truncated_viewtext_stream_keeps_the_text_before_the_cut():
    rng = random.Random(5)  # Hangul that hardly compresses: the cut stream stays past 4,096 bytes
    lines = ["".join(chr(0xAC00 + rng.randrange(11172)) for _ in range(60)) for _ in range(150)]
    stream = dist_stream(b"".join(para(line) for line in lines))
    cut = stream[: 260 + (len(stream) - 260) // 2 // 16 * 16]  # whole blocks, half the deflate stream
    assert len(cut) > 4096
    result = extract(dist_hwp([cut], preview=lines[0]), "배포용.hwp", FAST)
    assert result.ok and result.partial and result.note.startswith("hwp: ViewText/Section0 truncated")
    read = result.text.splitlines()
    assert 30 < len(read) < 150 and read[:-1] == lines[: len(read) - 1]


def test_aes_length_not_a_multiple_of_16_decrypts_the_whole_blocks():
    stream = dist_stream(BODY)
    result = extract(dist_hwp([stream + b"\x07" * 9], preview=PREVIEW), "배포용.hwp", FAST)
    assert result.ok and result.partial
    assert result.note == ("hwp: ViewText/Section0: "
                           f"{len(stream) - 260 + 9} encrypted bytes, not a multiple of 16: the last 9 dropped")
    assert result.text == _text(LINES + ["표 안의 셀 문단 디지털헬스케어"])  # the cut was only filler


def test_no_preview_either_is_one_error_line():
    data = dist_hwp([dist_stream(BODY, head=_garbled_key_text())], preview=None)
    result = extract(data, "배포용.hwp", FAST)
    assert not result.ok and "\n" not in result.error
    assert result.error.startswith("hwp: 배포용 body: ViewText/Section0: distribution record garbled")
    assert result.error.endswith(", and no PrvText preview")


def test_password_bit_keeps_the_preview_even_when_distributed():
    data = dist_hwp([dist_stream(BODY)], preview=PREVIEW, flags=0b111)
    text = read_hwp(data)
    assert text.partial and text.text == PREVIEW and text.note.startswith("hwp: password-protected document")


def test_distribution_bit_without_viewtext_falls_back_saying_so():
    data = dist_hwp([], preview=PREVIEW)
    assert read_hwp(data).note == f"hwp: 배포용 document without ViewText sections{FALLBACK_END}"


def test_a_bomb_in_a_distribution_body_stops_at_the_cap():
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = bomb.compress(b"\0" * (64 << 20)) + bomb.flush()
    result = extract(dist_hwp([dist_stream(body, compressed=False)], preview=PREVIEW, flags=0b101),
                     "bomb.hwp", FAST)
    assert result.ok and result.partial and "cut at the size cap" in result.note


# --- the real 배포용 files, when a folder of them is given ------------------------------------------

REAL_DIR = os.environ.get("GONGMO_REAL_DIST_HWP", "")


def _real_files() -> list[Path]:
    return sorted(Path(REAL_DIR).glob("*.hwp")) if REAL_DIR else []


@pytest.mark.skipif(not _real_files(), reason="GONGMO_REAL_DIST_HWP does not name a folder of real 배포용 .hwp "
                    "files (they are someone else's and are not kept in the repository)")
@pytest.mark.parametrize("path", _real_files(), ids=lambda p: f"{p.stat().st_size}-bytes")
def test_real_distribution_files_are_read_whole(path):
    data = path.read_bytes()
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        flags = int.from_bytes(ole.openstream("FileHeader").read()[36:40], "little")
    assert flags & 0b100, "not a 배포용 file"
    result = extract_file(str(path))
    preview = hwp.prv_text(data)
    assert result.error == "" and not result.partial, result.error or result.note
    assert result.chars > len(preview) > 200 and result.ms < 3000
    # every word of the preview is in the body; a line break inside a word (a cell's `24⏎개월`) aside
    coverage, missing = word_coverage(preview, result.text)
    joined = "".join(result.text.split())
    assert coverage > 0.99 and all(word in joined for word in missing), missing
