"""`watcher search` and `watcher serve`: the desk on the command line (registered on cli.cli).

Both are read-only: a missing database is one line (exit 2), nothing is created. Bad input is one
line naming what is wrong (exit 2): an unknown --source or --rule (with the known ones), --since
after --until, two output formats at once.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import date
from typing import Any

import click

from watcher.cli.common import command, iso_day, load, open_existing_store, setting
from watcher.desk import DAY_MAX, DAY_MIN, SORTS, Query, display_width, pad
from watcher.errors import InputError, WatcherError
from watcher.parse.links import shown_link
from watcher.termsafe import term

log = logging.getLogger(__name__)


def _config_or_none() -> Any:
    try:
        return load()
    except (WatcherError, OSError):
        return None


def check_known(kind: str, value: str | None, known: list[str]) -> None:
    if value is not None and value not in known:
        names = ", ".join(sorted(set(known))) or "none stored yet"
        raise InputError(f"unknown {kind} '{value}' (known: {names})")


def date_range(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    low, high = iso_day(since), iso_day(until)
    for value in (low, high):
        if value and not DAY_MIN <= date.fromisoformat(value) <= DAY_MAX:
            raise InputError(f"date {value} is out of range ({DAY_MIN} to {DAY_MAX})")
    if low and high and low > high:
        raise InputError(f"--since {low} is after --until {high}")
    return (date.fromisoformat(low) if low else None), (date.fromisoformat(high) if high else None)


def one_format(**flags: bool) -> str | None:
    chosen = [name for name, on in flags.items() if on]
    if len(chosen) > 1:
        raise InputError(f"choose one output format: {' and '.join('--' + c for c in chosen)} given")
    return chosen[0] if chosen else None


def _labels() -> dict[str, str]:
    """Rule name -> label of rules.yaml, for the CSV's rules column; {} when the files cannot be read."""
    cfg = _config_or_none()
    return {r.name: r.label for r in cfg.rules.rules if r.label} if cfg else {}


def _table(rows: list[dict[str, Any]], today: date) -> list[str]:
    """Two lines per row, columns aligned by display width (Korean characters count two)."""
    from watcher.notify.messages import d_day

    cells = []
    for row in rows:
        deadline = row.get("deadline")
        left = d_day(deadline, today)
        due = f"{deadline} {'closed' if left == '마감' else left}" if deadline else "no deadline"
        cells.append(((row.get("published") or row.get("first_seen") or "")[:10], due, row["source"],
                      row.get("agency") or "-", row.get("title") or ""))
    widths = [max(display_width(c[i]) for c in cells) for i in range(4)]
    lines = []
    for row, cell in zip(rows, cells, strict=True):
        lines.append("  ".join(pad(text, widths[i]) for i, text in enumerate(cell[:4])) + "  " + cell[4])
        rules = ",".join(row.get("rules") or [])
        team = " · ".join(x for x in (row.get("state"), f"@{row['assignee']}" if row.get("assignee") else "") if x)
        lines.append(" " * (widths[0] + 2) + (shown_link(row.get("link")) or "") + (f"  [{rules}]" if rules else "")
                     + (f"  ({team})" if team else ""))
        if row.get("found"):  # a read call: where the words are (`첨부: 공고문.hwp`)
            lines.append(" " * (widths[0] + 2) + "found in " + " · ".join(row["found"]))
    return lines


def team_state(text: str | None) -> str | None:
    """--state as the store keeps it: a state's code, `none` for 없음; InputError naming the states."""
    from watcher.notify.teamtext import STATES, state_code

    if text is None:
        return None
    if "".join(text.split()).lower() in ("none", "\uc5c6\uc74c"):  # none, or 없음
        return "none"
    code = state_code(text)
    if code is None:
        raise InputError(f"unknown state '{text}' (states: {', '.join(STATES.values())}; or {', '.join(STATES)}, none)")
    return code


@command()
@click.argument("query", required=False, default="")
@click.option("--since", metavar="DATE", help="published on or after DATE (YYYY-MM-DD)")
@click.option("--until", metavar="DATE", help="published on or before DATE (YYYY-MM-DD)")
@click.option("--source", metavar="ID", help="only this source (an id as in sources.yaml)")
@click.option("--rule", metavar="NAME", help="only announcements this rule matched")
@click.option("--agency", metavar="TEXT",
              help="only announcements whose agency contains TEXT (spacing and case ignored)")
@click.option("--open", "open_only", is_flag=True,
              help="only calls still open: deadline today or later, or no deadline found (open until filled)")
@click.option("--dated", is_flag=True, help="leave out calls without a parsed deadline")
@click.option("--sort", type=click.Choice(SORTS), default="newest", show_default=True,
              help="newest first, or deadline: open calls closest deadline first, then open-ended, then closed")
@click.option("--state", metavar="S", help="only calls the team gave this state, in Slack's words (spaces optional) "
              "or as reviewing, planned, applied, declined, dismissed; none: calls without a state")
@click.option("--assignee", metavar="NAME", help="only calls this member took (Slack name or user id, @ optional)")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True, help="show at most N")
@click.option("--json", "as_json", is_flag=True, help="print one JSON array")
@click.option("--csv", "as_csv", is_flag=True, help="print CSV (UTF-8 with BOM, for Excel)")
@click.option("--csv-lang", type=click.Choice(["ko", "en"]), default="ko", show_default=True,
              help="CSV headers in Korean (the default) or English (published, deadline, ...)")
@click.option("--atom", "as_atom", is_flag=True, help="print an Atom feed")
def search(query: str, since: str | None, until: str | None, source: str | None, rule: str | None,
           agency: str | None, open_only: bool, dated: bool, sort: str, state: str | None, assignee: str | None,
           limit: int, as_json: bool, as_csv: bool, csv_lang: str, as_atom: bool) -> None:
    """Full-text search of stored announcements (title, summary, agency), newest first.

    Korean words of any length, even two syllables; words are ANDed, "quoted words" are a phrase,
    -word excludes. Calls read with their detail page and attachments are found by those words too,
    and say where (found in the title, the page's text or an attachment). Prints N of M shown when
    --limit cut the list.

    With team actions on (SLACK_APP_TOKEN, or once the team acted in Slack) every row carries the call's
    state and assignee, and --state / --assignee filter by them.

    Example: watcher search 특구 --since 2026-11-01 --open --sort deadline

    Example: watcher search --state planned --assignee kim
    """
    from watcher.pipeline.cycle import now_kst
    from watcher.web import exports

    fmt = one_format(csv=as_csv, json=as_json, atom=as_atom)
    low, high = date_range(since, until)
    state_code = team_state(state)
    store = open_existing_store()
    cfg = _config_or_none() if source or rule else None
    if source is not None:
        configured = [s.id for s in cfg.sources] if cfg else []
        check_known("source", source, [s for s, _ in store.known_sources()] + configured)
    if rule is not None:
        check_known("rule", rule, store.known_rules() + ([r.name for r in cfg.rules.rules] if cfg else []))
    now = now_kst()
    today = now.date()
    started = time.perf_counter()
    found = store.find(Query(q=query, source=source, rule=rule, agency=agency, since=low, until=high,
                             open_only=open_only, undated=not dated, sort=sort, state=state_code,
                             assignee=assignee or None), today, limit=limit)
    team = bool(state_code or assignee or os.environ.get("SLACK_APP_TOKEN") or store.has_team_actions())
    if team:
        store.annotate_team(found.rows)
    log.info("search %r in %s: %d found in %.0f ms", query, store.path, found.total,
             (time.perf_counter() - started) * 1000)
    more = f"{len(found.rows)} of {found.total} shown (--limit {limit})"
    if fmt == "json":
        sys.stdout.write(exports.to_json(found.rows, today, team))
    elif fmt == "csv":  # a terminal may show it: control characters from feeds escaped
        rows = [{k: term(v) if isinstance(v, str) else v for k, v in row.items()} for row in found.rows]
        sys.stdout.buffer.write(exports.to_csv(rows, today, labels=_labels(), lang=csv_lang, team=team)
                                .encode("utf-8"))
    elif fmt == "atom":
        title = f"공모사업 검색: {query}" if query else "공모사업 검색"
        sys.stdout.write(exports.to_atom(found.rows, title, f"urn:gongmo-watcher:search:{query}", "", now, today))
    elif not found.rows:
        click.echo("no announcements found")
        return
    else:
        for line in _table(found.rows, today):
            click.echo(term(line))
        click.echo(more if found.total > len(found.rows) else f"{found.total} found")
        return
    sys.stdout.flush()
    if found.total > len(found.rows):
        click.echo(more, err=True)


@command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
def serve(host: str, port: int) -> None:
    """Serve the web desk: calls closing soon, search with exports, the health of every source.

    / shows open matched calls closest deadline first; /search?q=QUERY&source=ID&rule=NAME&since=DATE
    searches, with format=csv|json|atom for exports; /status shows every configured source and the
    alerts pending per channel.

    Example: watcher serve --port 8080
    """
    from watcher.config.load import config_fingerprint, load_config
    from watcher.web import serve as serve_web
    from watcher.web.app import ReloadingConfig

    store = open_existing_store()  # migrates an existing database once; creates none
    store.close()
    load()  # a broken sources.yaml / rules.yaml is reported before serving
    config = ReloadingConfig(setting("sources"), setting("rules"), load_config, config_fingerprint)
    click.echo(f"serving http://{host}:{port}/", err=True)
    serve_web(str(store.path), host, port, config=config)
