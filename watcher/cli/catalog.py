"""`watcher sources catalog`: the source catalogue shipped with the package, and how each entry is verified.

Reads watcher/config/catalog.yaml only (no sources.yaml, no database). `sources.yaml` picks entries
with `include: [id, ...]`.
"""

from __future__ import annotations

from collections import Counter

import click

from watcher.cli.common import command, json_out
from watcher.desk import display_width, pad
from watcher.termsafe import term


@command(name="catalog")
@click.option("--json", "as_json", is_flag=True, help="print one JSON array")
def catalog(as_json: bool) -> None:
    """List the catalogue of sources shipped with the package: id, name, kind, URL, what it covers,
    the key it needs, and how it is verified (capture: a real response is fed through it in the tests;
    scraper: it agrees with the named public scraper; unverified). Pick entries in sources.yaml with
    `include: [id, ...]`.

    Example: watcher sources catalog --json
    """
    from watcher.config.catalog import entries

    rows = [entry.listing() for entry in entries().values()]
    if as_json:
        json_out(rows)
        return
    widths = [max(display_width(str(r[k] or "-")) for r in rows) for k in ("id", "kind", "verified")]
    for row in rows:
        head = "  ".join(pad(str(row[k] or "-"), w) for k, w in zip(("id", "kind", "verified"), widths, strict=True))
        key = f"  [needs {row['key']}]" if row["key"] else ""
        off = "  (disabled)" if row["enabled"] is False else ""
        click.echo(term(f"{head}  {row['name']}{key}{off}"))
        indent = " " * (sum(widths) + 4)
        click.echo(term(f"{indent}{row['url']}"))
        click.echo(term(f"{indent}covers: {row['covers']}"))
        click.echo(term(f"{indent}{row['verified']}: {row['evidence']}" + (f" ({row['date']})" if row["date"] else "")))
    counts = Counter(r["verified"] for r in rows)
    click.echo(f"{len(rows)} entries: " + ", ".join(f"{counts[h]} {h}" for h in ("capture", "scraper", "unverified")))
