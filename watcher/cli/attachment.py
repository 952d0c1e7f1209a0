"""`watcher attachment FILE...`: the text of HWP, HWPX and PDF files, read exactly as polling reads them."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import Any

import click

from watcher.cli.common import command, iso_day, json_out
from watcher.termsafe import term

LINES = 5  # first lines shown per file


def read_one(path: str, published: datetime) -> dict[str, Any]:
    """One file as polling reads it: the type its bytes show (None when not HWP, HWPX or PDF), bounded
    in a child process, the text kept line by line; its deadline as polling takes one (a 공고문's
    only, by its name; never a form's)."""
    from watcher.extract import Limits, extract, may_give_deadline
    from watcher.parse.dates import deadline_from_text
    from watcher.parse.detail import MAX_TEXT, tidy

    name = os.path.basename(path)
    try:
        with open(path, "rb") as f:
            data = f.read(Limits.max_bytes + 1)
    except OSError as exc:
        return {"file": path, "type": None, "chars": 0, "deadline": None, "text": "",
                "error": f"extract: {exc.strerror or exc}"}
    result = extract(data, name, Limits(max_chars=MAX_TEXT))
    text = tidy(result.text) if result.ok else ""
    deadline = deadline_from_text(text, published) if text and may_give_deadline(name) else None
    return {"file": path, "type": result.kind, "chars": len(text), "deadline": deadline,
            "text": text, "error": result.error or None, "note": result.note or None}


@command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--published", metavar="DATE",
              help="the call's publication day: the year of dates written without one [default: today]")
@click.option("--json", "as_json", is_flag=True, help="print one JSON array")
def attachment(files: tuple[str, ...], published: str | None, as_json: bool) -> None:
    """Extract the text of HWP, HWPX or PDF files exactly as polling would.

    Prints per file its type (what the bytes are, whatever the name says), characters, the deadline
    found (a notice's only, judged by its name: forms, result lists and manuals never give one) and
    the first lines.
    Exit 0 when every file was read, 1 otherwise.

    Example: watcher attachment 공고문.hwp 신청서.hwp --json
    """
    from watcher.clock import KST

    reference = datetime.fromisoformat(iso_day(published)).replace(tzinfo=KST) if published else datetime.now(KST)
    rows = [read_one(path, reference) for path in files]
    if as_json:
        json_out([{k: row[k] for k in ("file", "type", "chars", "deadline", "text", "error")} for row in rows])
    else:
        for row in rows:
            click.echo(term(row["file"]))
            if row["error"]:
                click.echo(f"  error: {term(row['error'])}")
                continue
            click.echo(f"  {row['type']} · {row['chars']:,} characters · deadline {row['deadline'] or 'none'}"
                       + (f" · {term(row['note'])}" if row.get("note") else ""))
            for line in row["text"].split("\n")[:LINES]:
                click.echo(f"  | {term(line[:100])}")
    sys.exit(0 if all(row["error"] is None for row in rows) else 1)
