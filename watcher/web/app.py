"""`watcher serve`: the team's desk over the store, stdlib WSGI only.

GET / -> the 마감 임박 view (/search of open matched calls, closest deadline first);
GET /search?q=&source=&rule=&agency=&since=&until=&open=1&undated=0|1&matched=1&sort=newest|deadline&page=
renders one HTML page (no JavaScript) with the total, one page of results and links to the other
pages; the same query with format=csv|json|atom returns the whole result (watcher/web/exports.py);
GET /status the health of every configured source and the alerts pending per channel;
POST /missed marks a stored, never alerted call as missed (`놓친 공고`, web/team.py; the desk's only write);
GET /call?source=&id=&q= one call's page: what reading its detail page and attachments found;
GET /healthz answers `ok`; GET /metrics is Prometheus text (watcher/metrics.py); GET /calendar.ics?rule=
as `watcher calendar` (watcher/ics.py). Every request opens
its own read-only SQLite connection. Everything from a source is HTML-escaped and only http(s) links are linked.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from watcher.desk import DAY_MAX, DAY_MIN, SORTS, Query
from watcher.errors import MissingDatabase, WatcherError
from watcher.models import Config
from watcher.notify.remedies import failing_first, source_remedy
from watcher.store import Store
from watcher.store import search as fts
from watcher.web import exports, page
from watcher.web import team as webteam
from watcher.web.page import FORM_KEYS, http_link

log = logging.getLogger(__name__)
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Response = tuple[str, str, bytes | Iterable[bytes], list[tuple[str, str]]]  # status, type, body, extra headers
ConfigSource = Callable[[], Config | None]

HEADERS = [
    ("Content-Security-Policy",
     "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
]
PER_PAGE = 50
SOON = {"open": "1", "matched": "1", "sort": "deadline"}  # what `/` shows


def _query_string(environ: dict[str, Any]) -> str:
    """QUERY_STRING as text: WSGI hands it over as bytes decoded as latin-1, so raw UTF-8 in a URL
    (`curl 'http://host/search?q=특구'`) is turned back into bytes and read as UTF-8."""
    raw = environ.get("QUERY_STRING", "")
    try:
        return raw.encode("latin-1").decode("utf-8", errors="replace")
    except UnicodeEncodeError:  # a server that already decoded it
        return raw


def _form(environ: dict[str, Any]) -> dict[str, str]:
    """The query string's values; a repeated key counts by its last value (hidden `undated=0` then the
    checked box's `undated=1`)."""
    query = parse_qs(_query_string(environ), keep_blank_values=True, errors="replace")
    return {k: query[k][-1].strip() for k in (*FORM_KEYS, "page", "format") if k in query}


def _flags(form: dict[str, str]) -> dict[str, bool]:
    return {"open": form.get("open", "") not in ("", "0"), "undated": form.get("undated", "1") != "0",
            "matched": form.get("matched", "") not in ("", "0")}


def _day(form: dict[str, str], key: str, label: str) -> date | None:
    try:
        return fts.parse_day(form.get(key) or None, key)
    except WatcherError as err:
        if "out of range" in str(err):
            raise WatcherError(f"{key} {form[key]}: {DAY_MIN}부터 {DAY_MAX}까지의 날짜만 검색할 수 있습니다") from None
        raise WatcherError(f"{label}({key}) '{form[key]}'을(를) 날짜로 읽을 수 없습니다 (예: 2026-11-01)") from None


def query_of(form: dict[str, str]) -> Query:
    flags = _flags(form)
    since, until = _day(form, "since", "시작일"), _day(form, "until", "종료일")
    for key, day in (("since", since), ("until", until)):
        if day and not DAY_MIN <= day <= DAY_MAX:
            raise WatcherError(f"{key} {day}: {DAY_MIN}부터 {DAY_MAX}까지의 날짜만 검색할 수 있습니다")
    if since and until and since > until:
        raise WatcherError(f"날짜 범위가 거꾸로입니다: since {since} 이 until {until} 보다 늦습니다")
    sort = form.get("sort") if form.get("sort") in SORTS else "newest"
    return Query(q=form.get("q", ""), source=form.get("source") or None, rule=form.get("rule") or None,
                 agency=form.get("agency") or None, since=since, until=until, open_only=flags["open"],
                 undated=flags["undated"], matched=flags["matched"], sort=sort, state=webteam.query_state(form),
                 assignee=form.get("assignee") or None)


def _number(text: str | None, default: int, high: int) -> int:
    return min(int(text), high) if text and text.isdigit() and int(text) > 0 else default


class Desk:
    """The pages, over one store path and the configuration (reloaded by the caller's ConfigSource)."""

    def __init__(self, store_path: str, config: ConfigSource, clock: Callable[[], datetime]) -> None:
        self.store_path, self.config, self.clock = store_path, config, clock

    def now(self) -> datetime:
        return self.clock().astimezone(fts.KST)

    def labels(self) -> dict[str, str]:
        cfg = self.config()
        return {r.name: r.label for r in cfg.rules.rules if r.label} if cfg else {}

    def _open(self) -> Store:
        return Store.read_only(self.store_path)

    def search(self, form: dict[str, str], base_url: str, current: str = "search") -> Response:
        try:
            store = self._open()
        except MissingDatabase:
            body = page.render_page(form, [], [], None, self.now().date(),
                                    "아직 저장된 공고가 없습니다 (watcher once 먼저).")
            return "200 OK", "text/html", body.encode(), []
        try:
            return self._search(store, form, base_url, current)
        finally:
            store.close()

    def _search(self, store: Store, form: dict[str, str], base_url: str, current: str) -> Response:
        now = self.now()
        today, labels = now.date(), self.labels()
        sources = store.known_sources()
        cfg = self.config()
        configured = [r.name for r in cfg.rules.rules] if cfg else []  # a new rule shows before it matches
        rules = [(r, labels.get(r) or r) for r in dict.fromkeys([*configured, *store.known_rules()])]
        flags, fresh = _flags(form), store.freshness()
        team = team_on(store)
        extra = webteam.filters(form, store.team_members()) if team else ""
        try:
            query = query_of(form)
        except WatcherError as err:
            html = page.search_page(form, flags, sources, rules, "", fresh, str(err), current, extra)
            return "400 Bad Request", "text/html", html.encode(), []
        fmt = form.get("format")
        if fmt in exports.FORMATS:
            return self._export(store, query, form, fmt, base_url, now, labels, team)
        if fmt:
            return "400 Bad Request", "text/plain", f"unknown format '{fmt}' (csv, json, atom)\n".encode(), []
        per_page = _number(form.get("limit"), PER_PAGE, 500)
        number = _number(form.get("page"), 1, 10**6)
        found = store.find(query, today, limit=per_page, offset=(number - 1) * per_page)
        if team:
            back = page.url("/search", form, page=number if number > 1 else None)
            cfg = self.config()
            choices = [(r.name, r.label or r.name) for r in cfg.rules.rules] if cfg else rules
            for row in store.annotate_team(found.rows):
                row["team_html"] = webteam.cell(row, back, choices)
        body = page.results(form, found, per_page, number, today, labels)
        html = page.search_page(form, flags, sources, rules, body, fresh, current=current, extra=extra)
        return "200 OK", "text/html", html.encode(), []

    def _export(self, store: Store, query: Query, form: dict[str, str], fmt: str, base_url: str, now: datetime,
                labels: dict[str, str], team: bool = False) -> Response:
        rows = store.find(query, now.date(), limit=exports_limit()).rows
        if team:
            store.annotate_team(rows)
        today = now.date()
        media, ext = exports.FORMATS[fmt]
        if fmt == "csv":  # streamed, a piece at a time
            disposition = [("Content-Disposition", f'attachment; filename="gongmo-search.{ext}"')]
            lang = "en" if form.get("lang") == "en" else "ko"
            body = (part.encode("utf-8") for part in exports.iter_csv(rows, today, labels, lang=lang, team=team))
            return "200 OK", media, body, disposition
        if fmt == "json":
            text = exports.to_json(rows, today, team)
        else:
            title = f"공모사업 검색: {query.q}" if query.q else "공모사업 검색"
            text = exports.to_atom(rows, title, base_url + page.url("/search", form, format="atom", page=None),
                                   base_url + page.url("/search", form, format=None, page=None), now, today,
                                   labels, link_of=lambda row: http_link(row.get("link")))
        return "200 OK", media, text.encode("utf-8"), []

    def call(self, environ: dict[str, Any]) -> Response:
        """The page of one call: its reading, the matched words highlighted (watcher/web/callpage.py)."""
        from watcher.web.callpage import call_page

        query = parse_qs(_query_string(environ), errors="replace")
        source, ann_id, q = ((query.get(k) or [""])[-1] for k in ("source", "id", "q"))
        try:
            store = self._open()
        except MissingDatabase:
            store = None
        try:
            row = store.call_row(source, ann_id) if store and source and ann_id else None
        finally:
            if store is not None:
                store.close()
        if row is None:
            return "404 Not Found", "text/html", "<!doctype html><p>그런 공고가 없습니다.</p>".encode(), []
        return "200 OK", "text/html", call_page(row, self.now().date(), q, self.labels()).encode(), []

    def status(self) -> Response:
        try:
            store = self._open()
        except MissingDatabase:
            store = None
        try:
            now = self.now()
            rows = status_rows(self.config(), store, now)
            files = store.reading_errors() if store else {}
            for row in rows:
                row["file_error"] = files.get(row["id"])
            pending = store.pending_by_channel() if store else []
            fresh = store.freshness() if store else {"last_poll": None, "failing": []}
            return "200 OK", "text/html", page.status_page(rows, pending, fresh).encode(), []
        finally:
            if store is not None:
                store.close()


def team_on(store: Store) -> bool:
    """The desk shows the team's pipeline when team actions are configured here or were ever used."""
    return bool(os.environ.get("SLACK_APP_TOKEN")) or store.has_team_actions()


def exports_limit() -> int:
    from watcher.store.desk import MAX_ROWS

    return MAX_ROWS


class _NoRows:
    """Stands in for a store that does not exist yet: no source has a row."""

    def health_rows(self) -> dict[str, dict[str, Any]]:
        return {}


def status_rows(config: Config | None, store: Store | None, now: datetime) -> list[dict[str, Any]]:
    """One row per configured source (watcher.health.source_rows: state, last success, last error,
    failures, items, next poll) with its last new item, then any stored source no longer configured."""
    from watcher.health import source_rows

    stored = store.source_rows() if store else {}
    rows = source_rows(config, store or _NoRows(), now) if config else []
    for row in rows:
        row["last_new_item"] = row.get("last_new") or (stored.get(row["id"]) or {}).get("last_new_item")
        row["reason"] = source_remedy(row)  # in Korean; health's reasons are English (CLI)
    known = {row["id"] for row in rows}
    rows = failing_first(rows)  # what needs someone first
    rows.extend({**row, "state": "failing" if row.get("failures") else "ok", "reason": "sources.yaml에 없음"}
                for sid, row in stored.items() if sid not in known)
    return rows


class ReloadingConfig:
    """The configuration for the pages, loaded again when either file changes; a broken edit keeps
    the last good one (and is logged)."""

    def __init__(self, sources_path: str, rules_path: str, loader: Callable[[str, str], Config],
                 fingerprint: Callable[[str, str], Any]) -> None:
        self.paths, self.loader, self.fingerprint = (sources_path, rules_path), loader, fingerprint
        self.seen: Any = None
        self.config: Config | None = None

    def __call__(self) -> Config | None:
        try:
            mark = self.fingerprint(*self.paths)
            if mark != self.seen:
                self.config, self.seen = self.loader(*self.paths), mark
        except (WatcherError, OSError) as err:
            log.warning("config not reloaded: %s", str(err).splitlines()[0])
        return self.config


def _base_url(environ: dict[str, Any]) -> str:
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}"


def make_app(store_path: str | Path, clock: Callable[[], datetime] = lambda: datetime.now(fts.KST),
             config: ConfigSource | Config | None = None) -> WsgiApp:
    """The WSGI app; `config` (or a callable returning the current one) names the configured sources for
    /status and the rule labels."""
    source: ConfigSource = config if callable(config) else (lambda: config)  # type: ignore[assignment,return-value]
    desk = Desk(str(store_path), source, clock)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        extra: list[tuple[str, str]] = []
        if method == "POST" and path == "/missed":  # the desk's one write (web/team.py)
            cfg = desk.config()
            names = [r.name for r in cfg.rules.rules] if cfg else []
            status, ctype, data, extra = webteam.missed_post(environ, desk.store_path, clock(), names)
        elif method not in ("GET", "HEAD"):
            status, ctype, data = "405 Method Not Allowed", "text/plain", b"method not allowed\n"
        elif path == "/":
            qs = environ.get("QUERY_STRING", "")
            target = "/search?" + (qs if qs else page.url("", SOON).lstrip("?"))
            start_response("302 Found", [("Location", target), *HEADERS])
            return [b""]
        elif path == "/healthz":
            status, ctype, data = "200 OK", "text/plain", b"ok\n"
        elif path == "/calendar.ics":  # as `watcher calendar` (watcher/ics.py)
            from watcher.web.calendar import calendar_response

            status, ctype, data = calendar_response(desk.store_path, _query_string(environ), clock())
        elif path == "/metrics":
            from watcher.ops.metrics import CONTENT_TYPE, render_metrics

            status, ctype, data = "200 OK", CONTENT_TYPE, render_metrics(desk.store_path, clock(), desk.config())
        elif path == "/call":
            try:
                status, ctype, data, extra = desk.call(environ)
            except sqlite3.OperationalError as err:
                log.warning("%s: %s", path, err)
                status, ctype = "503 Service Unavailable", "text/html"
                data = "<!doctype html><p>데이터베이스를 읽을 수 없습니다.</p>".encode()
        elif path in ("/search", "/status"):
            try:
                form = _form(environ)
                current = "soon" if all(form.get(k) == v for k, v in SOON.items()) and not form.get("q") else "search"
                status, ctype, data, extra = (desk.search(form, _base_url(environ), current) if path == "/search"
                                              else desk.status())
            except sqlite3.OperationalError as err:
                log.warning("%s: %s", path, err)
                status, ctype = "503 Service Unavailable", "text/html"
                data = "<!doctype html><p>데이터베이스를 읽을 수 없습니다 (watcher once 로 갱신하세요).</p>".encode()
            except Exception:  # noqa: BLE001 - one bad request never stops the server
                log.exception("%s failed", path)
                status, ctype = "500 Internal Server Error", "text/html"
                data = "<!doctype html><p>서버 오류</p>".encode()
        else:
            status, ctype, data = "404 Not Found", "text/plain", b"not found\n"
        if not isinstance(data, bytes):  # a streamed export: no length, the connection's end ends it
            start_response(status, [("Content-Type", f"{ctype}; charset=utf-8"), *extra, *HEADERS])
            return [b""] if method == "HEAD" else data
        start_response(status, [("Content-Type", f"{ctype}; charset=utf-8"), ("Content-Length", str(len(data))),
                                *extra, *HEADERS])
        return [b"" if method == "HEAD" else data]

    return app


IDLE_TIMEOUT = 30.0  # seconds a connection may sit idle before it is closed (WATCHER_IDLE_TIMEOUT)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.info("%s %s", self.address_string(), format % args)


def make_web_server(store_path: str | Path, host: str = "127.0.0.1", port: int = 8080,
                    config: ConfigSource | Config | None = None,
                    clock: Callable[[], datetime] = lambda: datetime.now(fts.KST),
                    idle_timeout: float | None = None) -> WSGIServer:
    """The desk's server bound to host:port (port 0: any free port, see server_address): a pool of
    worker threads, at most MAX_CONNECTIONS open connections, one silent for `idle_timeout` seconds
    closed (watcher/web/server.py)."""
    from watcher.settings import env_seconds
    from watcher.web.server import DeskServer

    idle = idle_timeout if idle_timeout is not None else env_seconds("WATCHER_IDLE_TIMEOUT", IDLE_TIMEOUT)
    handler = type("_Handler", (_QuietHandler,), {"timeout": idle})
    server = make_server(host, port, make_app(store_path, clock=clock, config=config), server_class=DeskServer,
                         handler_class=handler)
    server.idle_timeout = idle  # type: ignore[attr-defined]
    workers = os.environ.get("WATCHER_DESK_WORKERS", "")
    if workers.isdigit() and int(workers) > 0:
        server.workers = int(workers)  # type: ignore[attr-defined]
    return server


def serve(store_path: str | Path, host: str = "127.0.0.1", port: int = 8080,
          on_ready: Callable[[WSGIServer], None] | None = None, config: ConfigSource | Config | None = None) -> None:
    """Serve until interrupted (Ctrl-C) or until another thread calls server.shutdown()."""
    server = make_web_server(store_path, host, port, config)
    if on_ready is not None:
        on_ready(server)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
