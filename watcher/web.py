"""`watcher serve`: a small read-only search page over the store, stdlib WSGI only.

GET / -> /search; GET /search?q=&source=&rule=&since=&until=&open=1&limit= renders one HTML page (no
JavaScript) with the form and a results table; GET /healthz answers `ok`; GET /metrics is Prometheus
text (watcher/metrics.py). Every request opens its own read-only SQLite connection. Everything from a
source is HTML-escaped and only http(s) links are linked.
"""

from __future__ import annotations

import html
import logging
import sqlite3
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from . import search as fts
from .errors import WatcherError
from .notify import d_day

log = logging.getLogger(__name__)
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

HEADERS = [
    ("Content-Security-Policy",
     "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
]
STYLE = """
body{font-family:system-ui,"Apple SD Gothic Neo","Noto Sans KR",sans-serif;margin:1.5rem;color:#222}
form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin-bottom:1rem}
input[type=search]{min-width:18rem;padding:.3rem}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;
vertical-align:top}th{background:#f5f5f5}.agency{color:#666;font-size:.85em}.closed{color:#999}
.dday{font-weight:bold}.error{color:#b00}.count{color:#555}
"""


def e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def http_link(link: str | None) -> str | None:
    """The link when it is an absolute http(s) URL, else None (no javascript:, data:, ...)."""
    if not link:
        return None
    try:
        parts = urlsplit(link.strip())
    except ValueError:
        return None
    return link.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def _options(choices: list[tuple[str, str]], selected: str, blank: str) -> str:
    out = [f'<option value="">{e(blank)}</option>']
    for value, label in choices:
        mark = " selected" if value == selected else ""
        out.append(f'<option value="{e(value)}"{mark}>{e(label)}</option>')
    return "".join(out)


def _row(row: dict[str, Any], today: date) -> str:
    link = http_link(row.get("link"))
    title = e(row.get("title") or "(제목 없음)")
    title_html = f'<a href="{e(link)}" rel="noopener noreferrer nofollow">{title}</a>' if link else title
    agency = f'<div class="agency">{e(row["agency"])}</div>' if row.get("agency") else ""
    deadline = row.get("deadline")
    label = d_day(deadline, today) if deadline else None
    closed = ' class="closed"' if label == "마감" else ""
    due = f'{e(deadline)} <span class="dday">{e(label)}</span>' if label else e(deadline or "-")
    return (
        f'<tr{closed}><td class="title">{title_html}{agency}</td>'
        f'<td class="source">{e(row.get("source_name") or row.get("source"))}</td>'
        f'<td class="published">{e((row.get("published") or row.get("first_seen") or "")[:10])}</td>'
        f'<td class="deadline">{due}</td><td class="rules">{e(", ".join(row.get("rules") or []))}</td></tr>'
    )


def render_page(form: dict[str, str], sources: list[tuple[str, str]], rules: list[str],
                rows: list[dict[str, Any]] | None, today: date, message: str = "") -> str:
    """The whole search page; pure, every value escaped."""
    checked = " checked" if form.get("open") else ""
    parts = [
        '<!doctype html><html lang="ko"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(form.get('q') + ' - ' if form.get('q') else '')}공모사업 검색</title>",
        f"<style>{STYLE}</style></head><body><h1>공모사업 검색</h1>",
        '<form method="get" action="/search" role="search">',
        f'<input type="search" name="q" id="q" value="{e(form.get("q"))}" aria-label="검색어" '
        'placeholder="특구, 의료기기, &quot;디지털 헬스케어&quot;">',
        f'<select name="source" id="source" aria-label="출처">{_options(sources, form.get("source", ""), "모든 출처")}'
        "</select>",
        f'<select name="rule" id="rule" aria-label="규칙">'
        f'{_options([(r, r) for r in rules], form.get("rule", ""), "모든 규칙")}</select>',
        f'<label>게시일 <input type="date" name="since" id="since" value="{e(form.get("since"))}"></label>',
        f'<label>~ <input type="date" name="until" id="until" value="{e(form.get("until"))}"></label>',
        f'<label><input type="checkbox" name="open" id="open" value="1"{checked}> 접수 중만</label>',
        '<button type="submit" id="go">검색</button></form>',
    ]
    if message:
        parts.append(f'<p class="error" role="alert">{e(message)}</p>')
    if rows is not None:
        parts.append(f'<p class="count" id="count">{len(rows)}건</p>')
        if rows:
            parts.append('<table id="results"><thead><tr><th>제목</th><th>출처</th><th>게시일</th><th>마감</th>'
                         "<th>규칙</th></tr></thead><tbody>")
            parts.extend(_row(row, today) for row in rows)
            parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "".join(parts)


def _connect(store_path: str) -> sqlite3.Connection | None:
    path = Path(store_path).resolve()
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=5)
    conn.execute("PRAGMA query_only = 1")
    return conn


def _query_string(environ: dict[str, Any]) -> str:
    """QUERY_STRING as text: WSGI hands it over as bytes decoded as latin-1, so raw UTF-8 in a URL
    (`curl 'http://host/search?q=특구'`) is turned back into bytes and read as UTF-8."""
    raw = environ.get("QUERY_STRING", "")
    try:
        return raw.encode("latin-1").decode("utf-8", errors="replace")
    except UnicodeEncodeError:  # a server that already decoded it
        return raw


def _form(environ: dict[str, Any]) -> dict[str, str]:
    query = parse_qs(_query_string(environ), keep_blank_values=True, errors="replace")
    return {k: query.get(k, [""])[0].strip() for k in ("q", "source", "rule", "since", "until", "open", "limit")}


def search_page(store_path: str, form: dict[str, str], today: date) -> tuple[str, str]:
    """(HTTP status, page) for one search form."""
    conn = _connect(store_path)
    if conn is None:
        return "200 OK", render_page(form, [], [], None, today, "아직 저장된 공고가 없습니다 (watcher once 먼저).")
    try:
        sources, rules = fts.source_choices(conn), fts.rule_choices(conn)
        limit = int(form["limit"]) if form["limit"].isdigit() else 50
        rows = fts.search(conn, form["q"], since=form["since"] or None, until=form["until"] or None,
                          source=form["source"] or None, rule=form["rule"] or None, limit=min(limit, 500),
                          open_only=bool(form["open"]), today=today)
        return "200 OK", render_page(form, sources, rules, rows, today)
    except WatcherError as err:
        return "400 Bad Request", render_page(form, sources, rules, None, today, str(err))
    except sqlite3.OperationalError as err:
        log.warning("search page: %s", err)
        return "503 Service Unavailable", render_page(
            form, [], [], None, today, "데이터베이스를 읽을 수 없습니다 (watcher once 로 갱신하세요)."
        )
    finally:
        conn.close()


def make_app(store_path: str | Path, clock: Callable[[], datetime] = lambda: datetime.now(fts.KST)) -> WsgiApp:
    store = str(store_path)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        if method not in ("GET", "HEAD"):
            status, ctype, body = "405 Method Not Allowed", "text/plain", "method not allowed\n"
        elif path == "/":
            qs = environ.get("QUERY_STRING", "")
            start_response("302 Found", [("Location", "/search" + (f"?{qs}" if qs else "")), *HEADERS])
            return [b""]
        elif path == "/healthz":
            status, ctype, body = "200 OK", "text/plain", "ok\n"
        elif path == "/metrics":
            from .metrics import CONTENT_TYPE, render_metrics

            status, ctype, body = "200 OK", CONTENT_TYPE, render_metrics(store, clock()).decode("utf-8")
        elif path == "/search":
            ctype = "text/html"
            try:
                status, body = search_page(store, _form(environ), clock().astimezone(fts.KST).date())
            except Exception:  # noqa: BLE001 - one bad request never stops the server
                log.exception("search page failed")
                status, body = "500 Internal Server Error", "<!doctype html><p>서버 오류</p>"
        else:
            status, ctype, body = "404 Not Found", "text/plain", "not found\n"
        data = body.encode("utf-8")
        start_response(status, [("Content-Type", f"{ctype}; charset=utf-8"), ("Content-Length", str(len(data))),
                                *HEADERS])
        return [b"" if method == "HEAD" else data]

    return app


IDLE_TIMEOUT = 30.0  # seconds a connection may sit idle before it is closed (WATCHER_IDLE_TIMEOUT)
BACKLOG = 128  # connections the kernel queues while every thread is busy (a burst of clients)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = BACKLOG

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One log line, no traceback: an idle client cut at the timeout, or one that went away."""
        import sys

        exc = sys.exc_info()[1]
        level = logging.DEBUG if isinstance(exc, (TimeoutError, ConnectionError)) else logging.WARNING
        log.log(level, "%s: %s: %s", client_address[0], type(exc).__name__, exc)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.info("%s %s", self.address_string(), format % args)


def make_web_server(store_path: str | Path, host: str = "127.0.0.1", port: int = 8080,
                    idle_timeout: float | None = None) -> WSGIServer:
    """A threaded WSGI server bound to host:port (port 0: any free port, see server_address);
    connections idle for `idle_timeout` seconds are closed."""
    from .limits import env_seconds

    idle = idle_timeout if idle_timeout is not None else env_seconds("WATCHER_IDLE_TIMEOUT", IDLE_TIMEOUT)
    handler = type("_Handler", (_QuietHandler,), {"timeout": idle})
    return make_server(host, port, make_app(store_path), server_class=_Server, handler_class=handler)


def serve(store_path: str | Path, host: str = "127.0.0.1", port: int = 8080,
          on_ready: Callable[[WSGIServer], None] | None = None) -> None:
    """Serve until interrupted (Ctrl-C) or until another thread calls server.shutdown()."""
    server = make_web_server(store_path, host, port)
    if on_ready is not None:
        on_ready(server)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
