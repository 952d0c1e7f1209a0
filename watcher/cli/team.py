"""`watcher labels export`: the team's judgment in Slack as a labelled corpus (watcher/team/report.py)."""

from __future__ import annotations

import sys

import click

from watcher.cli.common import CONTEXT, Group, command, open_existing_store, path_options


@click.group(cls=Group, context_settings=CONTEXT)
@path_options
def labels() -> None:
    """The team's labels: calls kept, dismissed and missed in Slack."""


@command(group=labels, name="export")
@click.option("--out", "out", metavar="FILE", help="write to FILE instead of standard output")
def labels_export(out: str | None) -> None:
    """Write the calls the team judged as a corpus file in the format of tests/corpus/real.yaml.

    labels: kept calls -> the rules that alerted them; dismissed -> []; missed -> the rule named when
    it was marked (missed calls without a rule are left out and counted on stderr).

    Example: watcher labels export --out team-labels.yaml
    """
    from watcher.clock import now_kst
    from watcher.team.report import corpus_items, corpus_yaml

    store = open_existing_store()
    items, unnamed = corpus_items(store.team_judgments())
    text = corpus_yaml(items, now_kst())
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
        click.echo(f"{len(items)} labelled calls written to {out}", err=True)
    else:
        sys.stdout.write(text)
    if unnamed:
        click.echo(f"{unnamed} missed call(s) left out: no rule named (mark them with the rule)", err=True)
