"""`watcher sources test`: the dry run for whoever adds or fixes a source.

Fetches each named source (or reads a saved response with `--file`), parses it with the entry's
settings and prints what would be stored, with each field's coverage and the warnings of
watcher/health.py. It opens no database and sends nothing.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from watcher.cli.catalog import catalog
from watcher.cli.common import CONTEXT, Group, command, json_out, load, path_options
from watcher.errors import SourceError
from watcher.health import KST, poll_health
from watcher.models import Config, Source
from watcher.parse.links import shown_link

SHOWN = 20  # items printed per source in text output (--json has them all)


@click.group(cls=Group, context_settings=CONTEXT)
@path_options
def sources() -> None:
    """Work with sources.yaml and the source catalogue it includes from."""


sources.add_command(catalog)  # `watcher sources catalog` (watcher/cli/catalog.py)


def _items(source: Source, config: Config, path: str | None) -> list[tuple[Any, list[Any]]]:
    """(announcement, hits) of one fetch (or of the saved file); raises SourceError."""
    from watcher.match.matcher import Matcher
    from watcher.pipeline.workers import safe_parse_and_match

    if path is not None:
        bodies, content_type, url = [Path(path).read_bytes()], None, source.url
    else:
        from watcher.fetch.poll import fetch, make_session

        session = make_session(pool_size=1)
        try:
            fetched = fetch(session, source)
        finally:
            session.close()
        bodies, content_type, url = [fetched.body, *fetched.more_bodies], fetched.content_type, fetched.url
    outcome = safe_parse_and_match(source, bodies, content_type, url, Matcher(config.rules))
    if isinstance(outcome, SourceError):
        raise outcome
    return [(ann, hits) for ann, hits, _ in outcome]


def dry_run(source: Source, config: Config, path: str | None) -> dict[str, Any]:
    """What one source would store: its items, each field's coverage, warnings, and whether it passes
    (items, every one with a title and a link, and not degraded as `status` would call it)."""
    report: dict[str, Any] = {"id": source.id, "name": source.label, "kind": source.kind,
                              "url": path or source.url, "ok": False, "error": None, "degraded": False, "items": 0,
                              "coverage": {}, "selectors": {}, "warnings": [], "announcements": []}
    try:
        found = _items(source, config, path)
    except SourceError as exc:
        report["error"] = str(exc)
        return report
    anns = [ann for ann, _ in found]
    polled = poll_health(source, anns, datetime.now(KST), config.rules.max_age)
    report.update(
        items=polled.items, selectors=polled.selectors,
        coverage={name: polled.share(name) for name in polled.coverage},
        warnings=[p.english() for p in polled.problems] + polled.warnings,
        announcements=[{"title": a.title, "link": shown_link(a.link), "published": a.published, "deadline": a.deadline,
                        "agency": a.agency, "rules": [h.rule for h in hits]} for a, hits in found],
    )
    if not anns:
        report["error"] = "no items"
    elif polled.coverage["title"] < polled.items or polled.coverage["link"] < polled.items:
        missing = polled.items - min(polled.coverage["title"], polled.coverage["link"])
        report["error"] = f"{missing} of {polled.items} items lack a title or a link"
    report["degraded"] = polled.degraded  # e.g. a mapped field matching nothing in every item
    report["ok"] = report["error"] is None and not polled.degraded
    return report


def _print(report: dict[str, Any]) -> None:
    click.echo(f"{report['id']}  {report['name']}  ({report['kind']}, {report['url']})")
    if report["items"]:
        shares = "  ".join(f"{name} {_pct(share)}" + (f" [{report['selectors'][name]}]"
                                                       if report["selectors"].get(name, "-") != "-" else "")
                           for name, share in report["coverage"].items())
        click.echo(f"  {report['items']} items: {shares}")
        click.echo(f"  {'published':<10} {'deadline':<10} {'agency':<16} title / link")
        for item in report["announcements"][:SHOWN]:
            rules = f"  [rules: {', '.join(item['rules'])}]" if item["rules"] else ""
            click.echo(f"  {(item['published'] or '-')[:10]:<10} {item['deadline'] or '-':<10} "
                       f"{_cut(item['agency'] or '-', 16):<16} {item['title']}{rules}")
            click.echo(f"  {'':<39}{item['link'] or '(no link)'}")
        if report["items"] > SHOWN:
            click.echo(f"  ... {report['items'] - SHOWN} more (--json lists every item)")
    for warning in report["warnings"]:
        click.echo(f"  warning: {warning}")
    if report["error"] is None and report["degraded"]:
        click.echo("  => degraded (as `watcher status` would show it)")
    else:
        click.echo(f"  => {'ok' if report['ok'] else 'FAIL: ' + report['error']}")


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{round(share * 100)}%"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@command(group=sources, name="test")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, readable=True),
              help="parse this saved response with the first named source's settings instead of fetching")
@click.option("--json", "as_json", is_flag=True, help="print one JSON array")
def sources_test(ids: tuple[str, ...], path: str | None, as_json: bool) -> None:
    """Dry run: fetch each named source (every enabled one when none is named), parse it with its settings
    and print what would be stored, with each field's coverage and warnings. Stores nothing, sends nothing.
    Exit 0 when every source yields items that all have a title and a link and none is degraded (a mapped
    field matching nothing in every item, as `watcher status` says), 1 otherwise, 2 for bad config.

    Example: watcher sources test gbtp --file saved/gbtp-list.html
    """
    config = load()
    unknown = [i for i in ids if config.source(i) is None]
    if unknown:
        known = ", ".join(s.id for s in config.sources)
        raise click.BadParameter(f"unknown source id: {', '.join(unknown)} (known: {known})", param_hint="ID")
    if path is not None and not ids:
        raise click.UsageError("--file needs the ID of the source whose settings parse it")
    chosen = [config.source(i) for i in ids] if ids else [s for s in config.sources if s.enabled]
    if path is not None:
        chosen = chosen[:1]
    reports = [dry_run(s, config, path) for s in chosen if s is not None]
    if as_json:
        json_out(reports)
    else:
        for report in reports:
            _print(report)
    if not reports or not all(r["ok"] for r in reports):
        raise SystemExit(1)
