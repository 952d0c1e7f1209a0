"""A local Slack for tests: a real HTTP server on 127.0.0.1 speaking the Web API and webhooks.

`POST {url}chat.postMessage` (JSON or form body, bot token in `Authorization: Bearer` or `token`)
answers like Slack: `{"ok": true, "channel": ..., "ts": ...}`, HTTP 200 `{"ok": false, "error":
...}` for API errors, HTTP 429 + Retry-After when rate limited. A `thread_ts` is recorded with the
message (a reply). `chat.update` (channel + ts of a message posted before) rewrites that message
and is recorded in `updates`; an unknown ts is `message_not_found`. With `channel_ids` (name ->
id) the server answers ids, like Slack, and chat.update accepts only the id. `POST {webhook_url}` answers
`ok`, or a status with the error as plain text, like an incoming webhook.

Team actions (Socket Mode, #26): `apps.connections.open` (app token `app_token` only) answers the
`ws://` URL of `socket_url` (a tests/socket_server.py server); `auth.test` and `bots.info` say who the
bot is (workspace `T0000`, app `A0TEAM`); `users.info` reads `users` (id -> name); `views.publish`
is recorded in `views`, `chat.postEphemeral` in `ephemerals`, and posts to a `response_url`
(`response_url(n)`, path `/response/...`) in `responses`. GET requests are read like POST ones.

Knobs: `fail_next(n, status)`, `rate_limit_next(n, retry_after, channel)`, `channel_errors`
(channel -> error), `blocks_error` (refuse every message with blocks), `delay` (seconds before
answering), `min_interval` (at most one message per this many seconds per channel, else 429: the
pacing Slack asks for), `token` (anything else is `invalid_auth`), `update_error` (every chat.update
refused with this error), `update_retry_after` (every chat.update answered 429 with this Retry-After);
`update_calls` counts chat.update requests. Messages Slack would have
shown are in `messages`; refusals in `rejected`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

WEBHOOK_PATH = "/services/T0000/B0000/webhooksecret"
TEAM_METHODS = {"bots.info", "users.info", "views.publish", "chat.postEphemeral"}


class SlackServer:
    def __init__(self, token: str = "xoxb-test-token", app_token: str = "xapp-1-A0TEAM-1-secret") -> None:
        self.token = token
        self.app_token = app_token
        self.socket_url: str | None = None  # answered by apps.connections.open
        self.connections_opened = 0
        self.team_id, self.app_id = "T0000", "A0TEAM"
        self.users: dict[str, str] = {}  # user id -> display name for users.info
        self.views: list[dict[str, Any]] = []  # views.publish: user_id, view
        self.ephemerals: list[dict[str, Any]] = []  # chat.postEphemeral: channel, user, text, blocks
        self.responses: list[dict[str, Any]] = []  # posts to a response_url: path, body
        self.messages: list[dict[str, Any]] = []  # channel, text, blocks, time, ts, via
        self.rejected: list[dict[str, Any]] = []  # channel, status, error, time
        self.requests = 0
        self.channel_errors: dict[str, str] = {}
        self.blocks_error = ""  # e.g. "invalid_blocks": refuse every message that has blocks
        self.delay = 0.0
        self.min_interval = 1.0  # 0 turns pacing enforcement off
        self.webhook_channel = "#webhook"  # the channel the webhook was made for
        self.updates: list[dict[str, Any]] = []  # chat.update calls accepted: channel, ts, text, blocks
        self.channel_ids: dict[str, str] = {}  # channel name -> id answered (empty: names are answered)
        self.update_error = ""
        self.update_retry_after: float | None = None
        self.update_calls = 0
        self._fail: list[int] = []  # statuses for the next requests
        self._limit: list[tuple[str | None, float]] = []  # (channel or any, Retry-After)
        self._last: dict[str, float] = {}  # channel -> time of the last accepted message
        self._lock = threading.Lock()
        self._seq = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                server._handle(self)

            def do_GET(self) -> None:  # noqa: N802
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    # -- addresses -------------------------------------------------------------------------
    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """For SLACK_API_URL."""
        return self.base + "/api/"

    @property
    def webhook_url(self) -> str:
        return self.base + WEBHOOK_PATH

    # -- knobs -----------------------------------------------------------------------------
    def fail_next(self, n: int, status: int = 500) -> None:
        with self._lock:
            self._fail += [status] * n

    def rate_limit_next(self, n: int = 1, retry_after: float = 1, channel: str | None = None) -> None:
        with self._lock:
            self._limit += [(channel, retry_after)] * n

    def response_url(self, n: int | str = 1) -> str:
        """A response_url as Slack puts in interactions and slash commands, on this server."""
        return f"{self.base}/response/T0000/{n}/secret"

    def messages_for(self, channel: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.messages if m["channel"] == channel]

    def replies_to(self, ts: str) -> list[dict[str, Any]]:
        """Messages posted in the thread of the message `ts`."""
        with self._lock:
            return [m for m in self.messages if m.get("thread_ts") == ts]

    # -- protocol --------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if self.delay:
            time.sleep(self.delay)
        path, _, query = handler.path.partition("?")
        if handler.command == "GET":
            raw = query.encode("utf-8")
        if path.startswith("/response/"):
            with self._lock:
                self.responses.append({"path": path, "body": _body(handler.headers.get("Content-Type") or "", raw),
                                       "time": time.monotonic()})
            self._reply(handler, 200, "ok", content_type="text/plain")
        elif path == WEBHOOK_PATH:
            self._webhook(handler, raw)
        elif path.startswith("/api/"):
            self._api(handler, path.removeprefix("/api/"), raw)
        else:
            self._reply(handler, 404, "no_service", content_type="text/plain")

    def _api(self, handler: BaseHTTPRequestHandler, method: str, raw: bytes) -> None:
        body = _body(handler.headers.get("Content-Type") or "", raw)
        auth = handler.headers.get("Authorization") or ""
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else body.get("token")
        channel = str(body.get("channel") or "")
        if method == "apps.connections.open":
            self._connections_open(handler, token)
            return
        status, error, retry_after = self._verdict(channel, method == "chat.postMessage")
        if status == 200 and not error and token == self.token and method in TEAM_METHODS:
            self._team_method(handler, method, body)
            return
        if status == 200 and token != self.token:
            status, error = 200, "not_authed" if not token else "invalid_auth"
        if status == 200 and not error and method == "auth.test":
            self._reply(handler, 200, {"ok": True, "user_id": "UBOT", "team_id": self.team_id, "bot_id": "BBOT"})
            return
        if status == 200 and not error and method == "chat.update":
            self._update(handler, channel, body)
            return
        if status == 200 and not error and method != "chat.postMessage":
            error = "unknown_method"
        if status == 200 and not error:
            error = self.channel_errors.get(channel) or _invalid(body, self.blocks_error)
        if not error and status == 200:
            error, retry_after = self._pace(channel)
            status = 429 if error else 200
        if status == 200 and not error:
            ts = self._accept(channel, body, "api")
            answered = self.channel_ids.get(channel, channel)
            self._reply(handler, 200, {"ok": True, "channel": answered, "ts": ts, "message": {"ts": ts}})
            return
        self._refuse(channel, status, error)
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        if status >= 500:
            self._reply(handler, status, "<html><body>Internal Server Error</body></html>", content_type="text/html")
        else:
            self._reply(handler, status, {"ok": False, "error": error}, headers)

    def _connections_open(self, handler: BaseHTTPRequestHandler, token: str | None) -> None:
        """apps.connections.open: only the app-level token; the local Socket Mode server's URL."""
        if token != self.app_token:
            error = "not_allowed_token_type" if token == self.token else "invalid_auth"
            self._reply(handler, 200, {"ok": False, "error": error})
        elif not self.socket_url:
            self._reply(handler, 200, {"ok": False, "error": "internal_error"})
        else:
            with self._lock:
                self.connections_opened += 1
            self._reply(handler, 200, {"ok": True, "url": self.socket_url})

    def _team_method(self, handler: BaseHTTPRequestHandler, method: str, body: dict[str, Any]) -> None:
        """bots.info, users.info, views.publish, chat.postEphemeral."""
        if method == "bots.info":
            self._reply(handler, 200, {"ok": True, "bot": {"id": "BBOT", "app_id": self.app_id, "name": "watcher"}})
            return
        if method == "users.info":
            user = str(body.get("user") or "")
            if user not in self.users:
                self._reply(handler, 200, {"ok": False, "error": "user_not_found"})
                return
            self._reply(handler, 200, {"ok": True, "user": {"id": user, "name": user.lower(), "team_id": self.team_id,
                                                            "profile": {"display_name": self.users[user]}}})
            return
        view = body.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        with self._lock:
            if method == "views.publish":
                self.views.append({"user_id": body.get("user_id"), "view": view, "time": time.monotonic()})
            else:
                self.ephemerals.append({"channel": body.get("channel"), "user": body.get("user"),
                                        "text": body.get("text"), "blocks": body.get("blocks")})
        self._reply(handler, 200, {"ok": True})

    def _update(self, handler: BaseHTTPRequestHandler, channel: str, body: dict[str, Any]) -> None:
        """chat.update: the message (channel id when ids are answered, else its name) and ts must exist."""
        names = {cid: name for name, cid in self.channel_ids.items()}
        name = names.get(channel, channel if channel not in self.channel_ids else None)
        with self._lock:
            self.update_calls += 1
        if self.update_retry_after is not None:
            self._refuse(channel, 429, "ratelimited")
            self._reply(handler, 429, {"ok": False, "error": "ratelimited"},
                        {"Retry-After": f"{self.update_retry_after:g}"})
            return
        error = self.update_error or _invalid(body, self.blocks_error)
        with self._lock:
            found = next((m for m in self.messages if m["channel"] == name and m["ts"] == body.get("ts")), None)
            if not error and found is None:
                error = "message_not_found" if name else "channel_not_found"
            if not error:
                found.update(text=body.get("text"), blocks=body.get("blocks"), edited=found.get("edited", 0) + 1)
                self.updates.append({"channel": name, "ts": body.get("ts"), "text": body.get("text"),
                                     "blocks": body.get("blocks"), "time": time.monotonic()})
        if error:
            self._refuse(channel, 200, error)
            self._reply(handler, 200, {"ok": False, "error": error})
            return
        self._reply(handler, 200, {"ok": True, "channel": channel, "ts": body.get("ts"), "text": body.get("text")})

    def _webhook(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        body = _body(handler.headers.get("Content-Type") or "", raw)
        channel = self.webhook_channel
        status, error, retry_after = self._verdict(channel, True)
        if status == 200:
            error = self.channel_errors.get(channel) or _invalid(body, self.blocks_error)
            status = {"": 200, "channel_not_found": 404, "channel_is_archived": 410}.get(error, 400)
        if status == 200:
            error, retry_after = self._pace(channel)
            status = 429 if error else 200
        if status == 200:
            self._accept(channel, body, "webhook")
            self._reply(handler, 200, "ok", content_type="text/plain")
            return
        self._refuse(channel, status, error)
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        self._reply(handler, status, error, headers, content_type="text/plain")

    def _verdict(self, channel: str, posting: bool) -> tuple[int, str, float | None]:
        """Knob-made answers: (status, error, retry_after); (200, "", None) when none applies."""
        with self._lock:
            self.requests += 1
            if self._fail:
                status = self._fail.pop(0)
                return status, "internal_error" if status >= 500 else f"http_{status}", None
            if posting:
                for i, (only, retry_after) in enumerate(self._limit):
                    if only is None or only == channel:
                        del self._limit[i]
                        return 429, "ratelimited", retry_after
        return 200, "", None

    def _pace(self, channel: str) -> tuple[str, float | None]:
        with self._lock:
            last = self._last.get(channel)
            if self.min_interval and last is not None and time.monotonic() - last < self.min_interval:
                return "ratelimited", 1.0
            self._last[channel] = time.monotonic()  # reserved; _accept records the message
        return "", None

    def _accept(self, channel: str, body: dict[str, Any], via: str) -> str:
        with self._lock:
            self._seq += 1
            ts = f"{int(time.time())}.{self._seq:06d}"
            self.messages.append(
                {
                    "channel": channel,
                    "text": body.get("text"),
                    "blocks": body.get("blocks"),
                    "time": time.monotonic(),
                    "ts": ts,
                    "thread_ts": body.get("thread_ts"),
                    "via": via,
                    "body": body,
                }
            )
            return ts

    def _refuse(self, channel: str, status: int, error: str) -> None:
        with self._lock:
            self.rejected.append({"channel": channel, "status": status, "error": error, "time": time.monotonic()})

    @staticmethod
    def _reply(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: dict[str, Any] | str,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        data = (json.dumps(body) if isinstance(body, dict) else body).encode("utf-8")
        try:
            handler.send_response(status)
            for key, value in (headers or {}).items():
                handler.send_header(key, value)
            handler.send_header("Content-Type", f"{content_type}; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def __enter__(self) -> SlackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _body(content_type: str, raw: bytes) -> dict[str, Any]:
    """A JSON body, or a form body whose `blocks` is a JSON string, as Slack reads both."""
    text = raw.decode("utf-8", "replace")
    if content_type.startswith("application/json"):
        try:
            data = json.loads(text or "{}")
        except ValueError:
            return {"_invalid": True}
        return data if isinstance(data, dict) else {"_invalid": True}
    body: dict[str, Any] = dict(parse_qsl(text, keep_blank_values=True))
    if isinstance(body.get("blocks"), str):
        try:
            body["blocks"] = json.loads(body["blocks"])
        except ValueError:
            body["blocks"] = "invalid"
    return body


def _invalid(body: dict[str, Any], blocks_error: str = "") -> str:
    """Slack's checks of a message that concern us: "" when it would be accepted."""
    if body.get("_invalid"):
        return "invalid_payload"
    blocks = body.get("blocks")
    if not body.get("text") and not blocks:
        return "no_text"
    if len(body.get("text") or "") > 40_000:
        return "msg_too_long"
    if blocks and blocks_error:
        return blocks_error
    if blocks is not None:
        if not isinstance(blocks, list) or len(blocks) > 50:
            return "invalid_blocks"
        for block in blocks:
            if not isinstance(block, dict) or "type" not in block:
                return "invalid_blocks"
            text = (block.get("text") or {}).get("text") or ""
            fields = block.get("fields") or []
            if len(text) > 3000 or len(fields) > 10 or any(len(f.get("text", "")) > 2000 for f in fields):
                return "invalid_blocks"
    return ""


@pytest.fixture()
def slack() -> Iterator[SlackServer]:
    """A running local Slack; `slack.url` for SLACK_API_URL, `slack.token` for SLACK_BOT_TOKEN."""
    with SlackServer() as server:
        yield server
