"""`watcher alerts`: the alerts not sent yet, with the reason each is held; `alerts retry`,
`alerts reroute --from C --to C` and `alerts drop` act on them (watcher/store/alertsadmin.py).

Every subcommand exits 0 when it ran, also when nothing matched (it says so): running one twice is
harmless. An id that is not a held alert is named on stderr and skipped.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import click

from watcher.cli.common import CONTEXT, Group, command, json_out, open_existing_store, path_options
from watcher.termsafe import term

# the error codes that stay until someone acts (watcher/deliver/senders.py PERMANENT_ERRORS, by kind)
_CHANNEL_CODES = ("not_in_channel", "channel_not_found", "is_archived", "channel_is_archived",
                  "restricted_action", "posting_to_general_channel_denied", "action_prohibited")


def _now() -> datetime:
    from watcher.pipeline.cycle import now_kst

    return now_kst()


def reason(row: dict[str, Any], now: datetime) -> str:
    """Why an alert is not sent yet, and what to do, in one line (English, like the CLI)."""
    from watcher.cli.ops import HINTS
    from watcher.clock import kst_text
    from watcher.notify.remedies import code_of

    when = row.get("next_attempt_at")
    due_later = bool(when) and when > now.isoformat(timespec="seconds")
    if row["status"] == "sending":
        return f"being sent now by {row.get('claimed_by')} (claim until {kst_text(row.get('claimed_until'))})"
    if not row.get("attempts") or not row.get("last_error"):
        return f"scheduled for {kst_text(when)}" if due_later else "not tried yet: sent at the next `once` or poll"
    code = code_of(row["last_error"])
    channel = row["channel"]
    retry = f"retried {kst_text(when)}" if due_later else "due now"
    text = f"{row['last_error']} ({row['attempts']} tries, {retry})"
    hint = HINTS.get(code)
    if hint:
        text += ": " + hint.format(channel=channel, bot="app")
    if code in _CHANNEL_CODES:
        text += (f"; after fixing rules.yaml move them: watcher alerts reroute --from '{channel}' --to '#right', "
                 f"or watcher alerts drop --channel '{channel}'")
    return text


def _state(row: dict[str, Any], blocker: dict[str, Any] | None) -> str:
    if row["status"] == "sending":
        return "sending"
    if row.get("attempts") and row.get("last_error"):
        return "failing"
    return "held" if blocker is not None else "pending"


def _blockers(rows: list[dict[str, Any]], now: datetime) -> dict[str, dict[str, Any]]:
    """Channel -> a failing alert still waiting out its failure: the whole channel waits with it
    (watcher/deliver/loop.py holds a lane while one of its alerts does)."""
    stamp = now.isoformat(timespec="seconds")
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["status"] == "pending" and row.get("attempts") and row.get("last_error") \
                and (row.get("next_attempt_at") or "") > stamp:
            out.setdefault(row["channel"], row)
    return out


@click.group(cls=Group, invoke_without_command=True, context_settings=CONTEXT)
@path_options
@click.option("--json", "as_json", is_flag=True, help="print one JSON array")
@click.option("--channel", metavar="C", default=None, help="only this channel")
@click.pass_context
def alerts(ctx: click.Context, as_json: bool, channel: str | None) -> None:
    """Pending and failed alerts per channel, with the reason each is held; subcommands act on them.

    States: pending (not tried yet, or scheduled, like a reminder), failing (Slack refused it or could
    not be reached; retried on its own), held (its channel waits out another alert's failure),
    sending (another process is sending it now).

    Example: watcher alerts; watcher alerts reroute --from '#tp-dx-old' --to '#tp-dx'
    """
    if ctx.invoked_subcommand is not None:
        return
    from watcher.store.alertsadmin import AlertsAdmin

    store = open_existing_store()
    now = _now()
    rows = AlertsAdmin(store).held(channel)
    blockers = _blockers(rows, now)
    out = []
    for r in rows:
        blocker = blockers.get(r["channel"])
        state = _state(r, blocker)
        why = reason(r, now)
        if state == "held" and blocker is not None:
            why = f"waits while {r['channel']} is refused (alert {blocker['id']}): {reason(blocker, now)}"
        out.append({"id": r["id"], "channel": r["channel"], "kind": r["kind"] or "announcement", "state": state,
                    "title": r.get("title"), "link": r.get("link"), "created_at": r["created_at"],
                    "attempts": r["attempts"], "last_error": r.get("last_error"),
                    "next_attempt_at": r.get("next_attempt_at"), "reason": why})
    if as_json:
        json_out(out)
        return
    if not out:
        click.echo("no alerts waiting: every alert was sent")
        return
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for row in out:
        by_channel.setdefault(row["channel"], []).append(row)
    for name, rows_of in by_channel.items():
        click.echo(f"{name}: {len(rows_of)} alert(s) not sent")
        for row in rows_of:
            title = row["title"] or row["kind"]
            click.echo(term(f"  {row['id']:>6}  {row['state']:<8} {title[:60]}"))
            click.echo(term(f"          {row['reason']}"))


def _targets(ids: tuple[int, ...], channel: str | None, everything: bool) -> tuple[list[int] | None, str | None]:
    if not ids and channel is None and not everything:
        raise click.UsageError("name alert ids, --channel C, or --all")
    return (list(ids) if ids else None), channel


def _missing(wanted: tuple[int, ...], found: list[int]) -> None:
    for alert_id in sorted(set(wanted) - set(found)):
        click.echo(f"alert {alert_id}: not a pending alert (sent, dropped, being sent, or no such id); skipped",
                   err=True)


@command(group=alerts, name="retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--channel", metavar="C", default=None, help="every pending alert of this channel")
@click.option("--all", "everything", is_flag=True, help="every pending alert")
@click.option("--no-send", is_flag=True, help="only make them due; the next `once` or poll of `run` sends them")
def alerts_retry(ids: tuple[int, ...], channel: str | None, everything: bool, no_send: bool) -> None:
    """Make pending alerts due now (ending the wait after a failure) and send what is due.

    Example: watcher alerts retry --channel '#gongmo'
    """
    from watcher.cli.common import load
    from watcher.store.alertsadmin import AlertsAdmin

    want, chan = _targets(ids, channel, everything)
    store = open_existing_store()
    found = AlertsAdmin(store).retry(want, chan)
    _missing(ids, found)
    click.echo(f"{len(found)} alert(s) due now")
    if no_send or not found:
        return
    from watcher.deliver.loop import deliver
    from watcher.deliver.senders import make_sender
    from watcher.team.render import team_view

    cfg = load()
    report = deliver(store, make_sender(os.environ), _now(), cfg.rules.digest_over, public_url=cfg.rules.public_url,
                     team=team_view(os.environ, store))
    click.echo(f"alerts: {report.sent} sent, {report.pending} pending" +
               (f", {report.failed} failed" if report.failed else ""))
    for error in report.errors:
        click.echo(term(error), err=True)


@command(group=alerts, name="reroute")
@click.option("--from", "source", required=True, metavar="C", help="the channel the alerts wait for")
@click.option("--to", "target", required=True, metavar="C", help="the channel to send them to instead")
def alerts_reroute(source: str, target: str) -> None:
    """Send the pending alerts of one channel to another (after fixing a rule's channel).

    An announcement the target channel already has is dropped, not sent twice.

    Example: watcher alerts reroute --from '#tp-dx-old' --to '#tp-dx'
    """
    from watcher.store.alertsadmin import AlertsAdmin

    if source == target:
        raise click.UsageError("--from and --to name the same channel")
    store = open_existing_store()
    admin = AlertsAdmin(store)
    moved, dropped = admin.reroute(source, target, _now())
    if not moved and not dropped:
        known = ", ".join(admin.channels()) or "none"
        click.echo(f"no pending alerts for {source} (channels with alerts waiting: {known})")
        return
    click.echo(f"{len(moved)} alert(s) moved from {source} to {target}, due now" +
               (f"; {len(dropped)} dropped ({target} already has them)" if dropped else ""))


@command(group=alerts, name="drop")
@click.argument("ids", nargs=-1, type=int)
@click.option("--channel", metavar="C", default=None, help="every pending alert of this channel")
def alerts_drop(ids: tuple[int, ...], channel: str | None) -> None:
    """Never send these pending alerts (by id, or every one of a channel); they are not queued again.

    Example: watcher alerts drop 12 13; watcher alerts drop --channel '#old'
    """
    from watcher.store.alertsadmin import AlertsAdmin

    want, chan = _targets(ids, channel, False)
    store = open_existing_store()
    found = AlertsAdmin(store).drop(_now(), want, chan)
    _missing(ids, found)
    if channel is not None and not found:
        click.echo(f"no pending alerts for {channel}")
        return
    click.echo(f"{len(found)} alert(s) dropped")
