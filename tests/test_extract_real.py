"""Every real attachment (../shared/samples/real/attachments/) read as polling reads it: through the
bounded worker, its real type found whatever the name; HWP and HWPX cover every word of Hancom's own
preview (PrvText), PDFs hold Korean text; each 공고문 gives the deadline it states and no form gives one."""

from __future__ import annotations

import pytest

from tests.attachments import ALL, FORMS, NOTICES, OTHERS, PDFS, PUBLISHED, real_file, word_coverage
from tests.shared import real_dir
from watcher.extract import extract_file, hwp, hwpx, is_form, may_give_deadline, pick_attachments, read_bytes
from watcher.parse.dates import deadline_from_text


def test_the_thirty_files_are_those_listed():
    on_disk = sorted(p.name[:3] for p in (real_dir() / "attachments").glob("r*"))
    assert on_disk == list(ALL) and len(ALL) == 30


@pytest.mark.parametrize("prefix", ALL)
def test_every_real_file_is_extracted(prefix):
    path = real_file(prefix)
    result = extract_file(str(path))
    assert result.error == "" and not result.partial, result.error or result.note
    assert result.kind == path.suffix[1:]
    assert result.chars > 300
    assert result.ms < 3000


@pytest.mark.parametrize("prefix", [p for p in ALL if p not in PDFS])
def test_hwp_and_hwpx_cover_every_word_of_their_preview(prefix):
    path = real_file(prefix)
    data = path.read_bytes()
    if path.suffix == ".hwp":
        text, preview = hwp.read_hwp(data).text, hwp.prv_text(data)
    else:
        text, preview = hwpx.read_hwpx(data).text, hwpx.prv_text(data)
    assert len(preview) > 200
    coverage, missing = word_coverage(preview, text)
    assert coverage == 1.0, missing[:10]
    if path.suffix == ".hwp":  # no control character is left over
        assert not [c for c in text if ord(c) < 32 and c not in "\n\t"]


def test_table_cell_text_is_included():
    text = hwp.read_hwp(real_file("r06").read_bytes()).text  # a form that is one big table
    for cell in ("기업명", "대표자", "사업자등록번호", "상시종업원수", "신청분야"):
        assert cell in text


@pytest.mark.parametrize("prefix", PDFS)
def test_pdf_text_is_korean(prefix):
    result = extract_file(str(real_file(prefix)))
    assert result.kind == "pdf" and sum("가" <= c <= "힣" for c in result.text) > 100


@pytest.mark.parametrize("prefix", sorted(NOTICES))
def test_each_notice_gives_the_deadline_it_states(prefix):
    path = real_file(prefix)
    _, text = read_bytes(path.read_bytes(), path.name)
    assert may_give_deadline(path.name)
    assert deadline_from_text(text.text, PUBLISHED) == NOTICES[prefix]


def test_forms_are_exactly_the_files_named_as_forms_and_never_give_a_deadline():
    names = [real_file(p).name for p in ALL]
    assert sorted(n[:3] for n in names if is_form(n)) == list(FORMS)
    # two forms hold dates that would read as one (r08 `과제기간 2025.07.01.~2025.11.31.`, r16 an example
    # row `2020. 11.`): the only safe rule is never to read a form for a deadline, nor at all
    spurious = set()
    for prefix in FORMS:
        path = real_file(prefix)
        if deadline_from_text(read_bytes(path.read_bytes(), path.name)[1].text, PUBLISHED):
            spurious.add(prefix)
    assert spurious == {"r08", "r16"}
    picked = pick_attachments(names, limit=len(names))
    assert not [n for n in picked if n[:3] in FORMS] and not [n for n in names if may_give_deadline(n) and is_form(n)]


def test_results_notices_and_manuals_never_give_a_deadline():
    """r34 (a 서류평가 결과 list) holds a schedule date, 2025-06-16, that is no application deadline."""
    path = real_file("r34")
    assert deadline_from_text(read_bytes(path.read_bytes(), path.name)[1].text, PUBLISHED) == "2025-06-16"
    assert not [p for p in OTHERS if may_give_deadline(real_file(p).name)]
    assert sorted(p for p in ALL if may_give_deadline(real_file(p).name)) == sorted(NOTICES)
