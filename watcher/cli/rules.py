"""`watcher rules test`: the rules applied to stored announcements, sending nothing (and its diff)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from watcher.models import Config
from watcher.termsafe import term

if TYPE_CHECKING:
    pass

from watcher.cli.common import (
    CONTEXT,
    Group,
    _config,
    command,
    iso_day,
    json_out,
    load,
    open_existing_store,
    path_options,
)


@click.group(cls=Group, context_settings=CONTEXT)
@path_options
def rules() -> None:
    """Work with rules.yaml."""


@command(group=rules, name="test")
@click.option("--rule", metavar="NAME", help="only this rule")
@click.option("--since", metavar="DATE", help="only announcements published on or after DATE")
@click.option("--diff", is_flag=True,
              help="show what the current rules.yaml would add or drop against the rules in force "
                   "(the file last used by once/run, or --base)")
@click.option("--base", metavar="FILE", help="with --diff: compare against this rules file")
@click.option("--why", "why_link", metavar="LINK",
              help="for the stored announcement with this link: per rule, what matched, or which keyword came "
                   "closest and what stopped it (a `none` keyword, a field not searched, a source filter)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON array")
def rules_test(rule: str | None, since: str | None, diff: bool, base: str | None, why_link: str | None,
               as_json: bool) -> None:
    """Apply the current rules.yaml to stored announcements; sends nothing.

    With --diff, each line says whether it takes effect at the next `once` or poll of `run`: only
    announcements published within max_age are matched again; older ones are marked
    `[preview only]` and keep the matches they were stored with (`applies` in --json).

    Example: watcher rules test --rule medical-devices --since 2026-11-01

    Example: watcher rules test --why "https://www.bizinfo.go.kr/sii/siia/selectSIIA200Detail.do?pblancId=PBLN_1"
    """
    from watcher.match.matcher import Matcher
    from watcher.pipeline.backtest import backtest
    from watcher.pipeline.backtest import diff as diff_rules

    cfg = load()
    if rule and rule not in {r.name for r in cfg.rules.rules}:
        raise click.BadParameter(f"no rule named '{rule}' in {cfg.rules_path}", param_hint="--rule")
    store = open_existing_store()
    if why_link is not None:
        if diff:
            raise click.UsageError("--why explains one stored announcement; leave out --diff")
        _why(cfg, store, why_link, rule, as_json)
        return
    anns = store.with_readings(list(store.announcements(since=iso_day(since))))  # read calls: body, attachments
    if diff:
        from watcher.ops.check import duration
        from watcher.pipeline.cycle import now_kst
        from watcher.store.window import keys_within

        old = _rules_in_force(store, base, cfg)
        result = diff_rules(Matcher(old), Matcher(cfg.rules), anns)
        # which lines the next once/run applies: only announcements within max_age are matched again
        within = keys_within(store.conn, int(now_kst().timestamp() - cfg.rules.max_age))
        age = duration(cfg.rules.max_age)
        rows = [{"change": kind, **row, "applies": (row["source"], row["id"]) in within}
                for kind in ("added", "dropped") for row in result[kind] if not rule or row["rule"] == rule]
    else:
        rows = backtest(Matcher(cfg.rules), anns, rule=rule)
    if as_json:
        json_out(rows)
        return
    if not rows:
        click.echo("no changes" if diff else "no stored announcement matches")
        return
    for row in rows:
        mark = {"added": "+ ", "dropped": "- "}.get(row.get("change", ""), "")
        words = ", ".join(row.get("words") or [])
        later = "" if row.get("applies", True) else f"  [preview only: older than max_age {age}]"
        click.echo(term(f"{mark}{row['rule']:<20} {row['source']:<12} {row['title']}  ({words}){later}"))
    if not diff:
        click.echo(f"{len(rows)} matches")
        return
    applies = sum(1 for row in rows if row["applies"])
    click.echo(f"{len(rows)} changes: {applies} take effect at the next `once` or poll of `run` (published "
               f"within max_age {age}: matched again, alerted if new to the channel); {len(rows) - applies} "
               f"preview only (older: they keep the matches they were stored with)")


def _why(cfg: Config, store: Any, link: str, rule: str | None, as_json: bool) -> None:
    """`rules test --why LINK`: watcher/match/why.py on every stored copy of the announcement."""
    from watcher.match.why import explain
    from watcher.parse.links import canonical_link, shown_link

    anns = store.with_readings(store.announcements_by_link(link.strip(), canonical_link(link)))  # body, attachments
    if not anns:
        raise click.BadParameter(f"no stored announcement has the link {link}", param_hint="--why")
    rows = [{"source": ann.source, "id": ann.id, "title": ann.title, "link": shown_link(ann.link),
             **why.as_dict()} for ann in anns for why in explain(cfg.rules, ann, rule)]
    if as_json:
        json_out(rows)
        return
    shown = None
    for row in rows:
        if (row["source"], row["id"]) != shown:
            shown = (row["source"], row["id"])
            click.echo(term(f"[{row['source']}] {row['title']}"))
            click.echo(term(f"  {row['link']}"))
        click.echo(term(f"  {row['rule']:<20} {'MATCH' if row['matched'] else 'no':<5} {row['detail']}"))


def _rules_in_force(store: Any, base: str | None, cfg: Config) -> Any:
    import tempfile

    source_ids = [s.id for s in cfg.sources]
    if base:
        return _config().load_rules(base, source_ids)
    in_force = store.meta_value("rules_in_force")
    if in_force is None:
        raise click.UsageError("no rules in force recorded yet (run `watcher once` first, or pass --base FILE)")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", encoding="utf-8", delete=False) as fh:
        fh.write(in_force)
    try:
        return _config().load_rules(fh.name, source_ids)
    finally:
        os.unlink(fh.name)


@command(group=rules, name="report")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object: rules and missed calls")
def rules_report(as_json: bool) -> None:
    """What the team's actions in Slack say about each rule: alerts kept and dismissed, and the
    missed calls with the words a rule would need.

    Kept: someone took the call or gave it a state other than dismissed; dismissed: its state is
    dismissed (with the words that sent it). Missed: calls a member marked in Slack or on the desk.

    Example: watcher rules report
    """
    import json

    from watcher.team.report import report_lines
    from watcher.team.report import rules_report as build

    cfg = load()
    store = open_existing_store()
    report = build(store.team_judgments(), cfg.rules)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for line in report_lines(report):
        click.echo(term(line))
