"""`watcher demo`: the whole pipeline on bundled sample sources, offline.

Serves the bundled samples (real NTIS RSS and 기업마당 JSON captures, plus a health feed and an
EUC-KR notice board whose dates are set relative to today) from a local HTTP server on
127.0.0.1, polls them into a temporary database with the given rules, prints the alerts to
standard output, then searches the result.
"""

from __future__ import annotations

import re
import tempfile
import threading
from datetime import datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import click

from watcher.config.load import load_config
from watcher.deliver.senders import make_sender
from watcher.pipeline.cycle import now_kst, run_once
from watcher.store import Store

# path -> (bundled file, content type, encoding served)
FILES = {
    "/ntis.xml": ("ntis.xml", "application/rss+xml; charset=utf-8", "utf-8"),
    "/bizinfo.json": ("bizinfo.json", "application/json;charset=UTF-8", "utf-8"),
    "/health.xml": ("health.xml", "application/rss+xml", "utf-8"),
    "/innopolis": ("innopolis.html", "text/html", "cp949"),
}

SOURCES = """\
defaults:
  interval: 10m
  timeout: 10s
sources:
  - id: ntis
    name: NTIS 국가R&D 사업공고 (sample)
    url: {base}/ntis.xml
    fields: {{deadline: appdue, agency: category}}
  - id: bizinfo
    name: 기업마당 지원사업 (sample)
    kind: json
    url: {base}/bizinfo.json
    items: response.body.items.item
    fields: {{id: pblancId, title: pblancNm, link: pblancUrl, published: creatPnttm,
             summary: bsnsSumryCn, period: reqstBeginEndDe, agency: jrsdInsttNm}}
  - id: mohw
    name: 보건복지부 공지 (demo)
    url: {base}/health.xml
  - id: innopolis
    name: 연구개발특구진흥재단 사업공고 (demo)
    kind: html
    url: {base}/innopolis
    items: "table tbody tr"
    fields: {{title: "td.subject a", link: "td.subject a@href", published: "td.date"}}
"""

PLACEHOLDER = re.compile(r"\{\{(base|rfc|dot|iso|md):?([+-]\d+)?\}\}")


def render(template: str, base: str, today: datetime) -> str:
    """Fill `{{base}}` and dates relative to today: `{{rfc:-2}}`, `{{dot:+3}}`, `{{iso:0}}`, `{{md:+12}}`."""

    def fill(m: re.Match[str]) -> str:
        kind, offset = m.group(1), int(m.group(2) or 0)
        if kind == "base":
            return base
        day = (today + timedelta(days=offset)).replace(hour=9, minute=30, second=0, microsecond=0)
        return {
            "rfc": format_datetime(day),
            "dot": day.strftime("%Y.%m.%d"),
            "iso": day.strftime("%Y-%m-%d"),
            "md": f"{day.month}. {day.day}.",
        }[kind]

    return PLACEHOLDER.sub(fill, template)


def _server(today: datetime) -> ThreadingHTTPServer:
    data = resources.files("watcher") / "demo_data"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            entry = FILES.get(self.path)
            if entry is None:
                self.send_error(404)
                return
            name, content_type, encoding = entry
            base = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"
            body = render((data / name).read_text(encoding="utf-8"), base, today).encode(encoding)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def run_demo(rules_path: str) -> None:
    if not Path(rules_path).exists():
        raise click.UsageError(f"{rules_path}: file not found (run from the project folder or pass --rules)")
    today = now_kst()
    httpd = _server(today)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        with tempfile.TemporaryDirectory(prefix="watcher-demo-") as tmp:
            sources_path = Path(tmp) / "sources.yaml"
            sources_path.write_text(SOURCES.format(base=base), encoding="utf-8")
            config = load_config(str(sources_path), rules_path)
            store = Store(Path(tmp) / "demo.db")
            click.secho(f"== polling {len(config.sources)} bundled sources served on {base}", bold=True)
            report = run_once(config, store, make_sender({}))
            click.secho("== poll summary", bold=True)
            for r in report.sources:
                detail = r.error or f"{r.items} items stored, {r.new} new, {r.alerts} alerts"
                click.echo(f"   {r.id:<10} {r.status:<8} {detail}")
            click.echo(f"   alerts sent to standard output: {report.delivery.sent}")
            click.echo("   (the real NTIS and 기업마당 captures date from 2026-08/09: older than max_age, so they are\n"
                       "    stored and searchable but not alerted)")
            for query in ("특구", "의료기기", "디지털 헬스케어"):
                rows = store.search(query, limit=5)
                click.secho(f"== watcher search {query!r}: {len(rows)} found", bold=True)
                for row in rows:
                    click.echo(f"   {(row.get('published') or '')[:10]}  {row['source']:<10} {row['title']}")
    finally:
        httpd.shutdown()
        httpd.server_close()
