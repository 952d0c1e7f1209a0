"""`watcher status` (and `--check`) and `watcher demo`."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from watcher.termsafe import term

if TYPE_CHECKING:
    pass

from watcher.cli.common import (
    command,
    json_out,
    load,
    open_existing_store,
    setting,
)


@command()
@click.option("--json", "as_json", is_flag=True, help="print one JSON array")
@click.option("--check", is_flag=True,
              help="exit 0 when healthy, 1 with one line per reason when not (for monitors and HEALTHCHECK)")
def status(as_json: bool, check: bool) -> None:
    """One row per configured source: state (ok, failing, degraded, stale, disabled, never polled) and why,
    last success, consecutive failures, items stored, last new item.

    Example: watcher status --json; watcher status --check || alert-me
    """
    if check:
        from watcher.cli.ops import status_check

        sys.exit(status_check(load(), setting("db")))

    from watcher.health import KST, source_rows

    cfg = load()
    store = open_existing_store()
    rows = source_rows(cfg, store, datetime.now(KST))
    files = store.reading_errors()  # the latest attachment (or detail page) that failed, per source
    for row in rows:
        row["file_error"] = files.get(row["id"])
    if as_json:
        json_out(rows)
        return
    click.echo(f"{'source':<16} {'state':<12} {'last success':<16} {'failures':>8} {'items':>6} "
               f"{'last new':<10}  reason / last error")
    for row in rows:
        ok = (row.get("last_success") or "never")[:16].replace("T", " ")
        click.echo(f"{row['id']:<16} {row['state']:<12} {ok:<16} {row['failures']:>8} {row['items']:>6} "
                   f"{(row.get('last_new') or '-')[:10]:<10}  {term(row['reason'])}")
        if row["file_error"]:
            click.echo(f"{'':<16} file failed: {term(row['file_error'])}")
    configured = {s.id for s in cfg.sources}
    gone = [r for r in store.health_rows().values() if r["id"] not in configured]
    for row in sorted(gone, key=lambda r: r["id"]):
        click.echo(f"not in {cfg.sources_path} any more: {row['id']} ({row['items']} items stored)")
    _slack_status(store)
    _slow_rules(store)


def _slow_rules(store: Any) -> None:
    """`re:` keywords that ran out of time (watcher/match/guard.py), with their rules and last item."""
    from watcher.pipeline.verdicts import slow_rules

    for keyword, entry in slow_rules(store).items():
        last = entry.get("last") or {}
        where = f"; last: {last.get('source')}/{last.get('id')} {last.get('title')!r}" if last else ""
        click.echo(term(f"rule {', '.join(entry.get('rules') or ['?'])}: {keyword} ran out of time on "
                        f"{entry.get('timeouts', 0)} announcement(s) (counted as no match){where}"))


def _slack_status(store: Any) -> None:
    """Alerts Slack has not accepted yet, per channel, with the last error (e.g. channel_not_found), and
    the Socket Mode connection of the team's actions."""
    from watcher.clock import now_kst
    from watcher.team.status import socket_line

    line = socket_line(store.socket_state(), now_kst())
    if line:
        click.echo(term(line))
    for row in store.pending_by_channel():
        channel, count, error = row["channel"], row["pending"], row["last_error"]
        click.echo(f"slack {channel}: {count} alert(s) pending" + (f", last error: {error}" if error else ""))
    if store.pending_by_channel():
        click.echo("`watcher alerts` lists them with what to do (retry, reroute, drop)")




@command()
def demo() -> None:
    """Run the whole pipeline on bundled sample sources; alerts go to standard output.

    Example: watcher demo
    """
    from watcher.pipeline.demo import run_demo

    run_demo(setting("rules"))
