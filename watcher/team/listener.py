"""The Socket Mode listener `watcher run` starts when SLACK_APP_TOKEN and SLACK_BOT_TOKEN are set: an
outbound WebSocket to Slack (slack_sdk's built-in client: no package beyond slack_sdk), so a server
behind a firewall gets clicks, slash commands and App Home events without a public URL.

- Every envelope is acknowledged at once, before any work (Slack wants it within 3 s), then queued
  in the order it came (slack_sdk dispatches with one thread) for one worker thread, which owns its
  own database connection and handles requests in order (watcher/team/handlers.py). An envelope
  Slack sends again (same envelope_id) is handled once.
- Only requests of our app and workspace are acted on (api_app_id and team id against
  SLACK_APP_ID / SLACK_TEAM_ID, by default the app token's app and auth.test's workspace); until
  auth.test has answered, nothing is acted on.
- The connection reconnects on its own: slack_sdk's monitor pings every WATCHER_SOCKET_PING seconds
  (5) and replaces a socket that went silent, Slack's `disconnect` envelopes open a new one, and a
  supervisor here connects again (with back-off) whenever there is no connection at all.
- Its state (connected or not, since when, reconnections) is written to the database every change
  and every 30 s, for `watcher status` and `/metrics` (store/triage.py, `slack_socket`).
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from watcher.clock import iso, now_kst
from watcher.models import Config
from watcher.settings import env_seconds, service_log
from watcher.team.settings import PING, TeamSettings
from watcher.team.slackapi import Identity, SlackApi

log = logging.getLogger("watcher.team")
KINDS = ("interactive", "slash_commands", "events_api")
STATE_EVERY = 30.0  # seconds between two writes of an unchanged connection state
BACKOFF_MAX = 60.0
SEEN = 500  # envelope ids remembered against Slack's retries


class Listener:
    def __init__(self, settings: TeamSettings, db_path: str | Path, config: Callable[[], Config | None],
                 clock: Callable[[], datetime] = now_kst, ping: float | None = None) -> None:
        self.settings, self.db_path, self.config, self.clock = settings, str(db_path), config, clock
        self.ping = ping if ping is not None else env_seconds("WATCHER_SOCKET_PING", PING)
        self.api = SlackApi(settings)
        self.identity: Identity | None = None
        self.jobs: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self.stopping = threading.Event()
        self._seen: deque[str] = deque(maxlen=SEEN)
        self._seen_lock = threading.Lock()
        self.client: Any = None
        self.state: dict[str, Any] = {"state": "connecting", "since": iso(clock()), "reconnects": 0,
                                      "app_id": settings.app_id, "team_id": settings.team_id}
        self._threads: list[threading.Thread] = []
        self.handled = 0  # requests handled (tests wait on it)

    # ---- life ---------------------------------------------------------------------------------

    def start(self) -> None:
        from slack_sdk.socket_mode.builtin import SocketModeClient
        from slack_sdk.web import WebClient

        web = WebClient(base_url=self.settings.api_url, timeout=10, logger=logging.getLogger("watcher.team.slack_sdk"))
        self.client = SocketModeClient(app_token=self.settings.app_token, web_client=web, ping_interval=self.ping,
                                       logger=logging.getLogger("watcher.team.socket"), concurrency=1)
        if self.client.proxy and _local(self.settings.api_url):
            self.client.proxy = None  # a proxy from the environment is never right for a local API
        self.client.socket_mode_request_listeners.append(self._on_request)
        for target, name in ((self._work, "team-worker"), (self._supervise, "team-socket")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self.jobs.put(None)
        if self.client is not None:
            try:
                self.client.auto_reconnect_enabled = False
                sock = getattr(self.client.current_session, "sock", None)
                if sock is not None:  # wakes the receiving thread now, not at its 3 s read timeout
                    sock.shutdown(socket.SHUT_RDWR)
                self.client.close()
            except Exception as exc:  # closing a half-open socket
                log.debug("socket mode close: %s", exc)
        for thread in self._threads:
            thread.join(timeout)
        self._record({"state": "stopped"}, force=True, direct=True)

    # ---- the socket ---------------------------------------------------------------------------

    def _on_request(self, client: Any, request: Any) -> None:
        """slack_sdk's thread: acknowledge first, then queue the work."""
        from slack_sdk.socket_mode.response import SocketModeResponse

        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        with self._seen_lock:
            if request.envelope_id in self._seen:
                return
            self._seen.append(request.envelope_id)
        if request.type in KINDS and isinstance(request.payload, dict):
            self.jobs.put((request.type, request.payload))

    def _supervise(self) -> None:
        """Connect, and connect again whenever there is no connection; keep the state written."""
        delay, session, last_write = 1.0, None, 0.0
        check = min(1.0, self.ping)
        while not self.stopping.is_set():
            if self.identity is None:
                self._identify()
            try:
                connected = self.client.is_connected()
                if not connected:
                    if self.client.wss_uri is None:
                        self.client.connect()
                    else:
                        self.client.connect_to_new_endpoint()
                    connected = self.client.is_connected()
            except Exception as exc:  # apps.connections.open refused, network down
                connected = False
                self.state["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
                log.warning("slack socket mode: not connected (%s); trying again in %gs", self.state["error"], delay)
            if connected:
                delay = 1.0
                current = self.client.session_id()
                if current != session:
                    if session is not None:
                        self.state["reconnects"] = int(self.state.get("reconnects") or 0) + 1
                    session = current
                    self._record({"state": "connected", "error": None, "session": current}, force=True)
                    service_log.info("slack socket mode: connected (%d reconnections)", self.state["reconnects"])
            elif self.state.get("state") != "disconnected":
                self._record({"state": "disconnected"}, force=True)
            now = self.clock().timestamp()
            if now - last_write >= STATE_EVERY:
                self._record({}, force=True)
                last_write = now
            self.stopping.wait(check if connected else delay)
            if not connected:
                delay = min(delay * 2, BACKOFF_MAX)

    def _identify(self) -> None:
        try:
            self.identity = self.api.identity()
            self.state.update(app_id=self.identity.app_id, team_id=self.identity.team_id)
            if not (self.identity.app_id and self.identity.team_id):
                log.error("slack: the app or workspace id is unknown (set SLACK_APP_ID / SLACK_TEAM_ID): "
                          "no team action is acted on")
        except Exception as exc:
            log.warning("slack auth.test: %s: %s (team actions wait for it)", type(exc).__name__, exc)

    def _record(self, change: dict[str, Any], force: bool = False, direct: bool = False) -> None:
        """Update the connection state and have the worker write it (or write it here, at stop)."""
        if "state" in change and change["state"] != self.state.get("state"):
            change["since"] = iso(self.clock())
        self.state.update(change)
        self.state["checked_at"] = iso(self.clock())
        snapshot = dict(self.state)
        if direct:
            self._write_state(snapshot)
        elif force:
            self.jobs.put(("state", snapshot))

    def _write_state(self, state: dict[str, Any], store: Any = None) -> None:
        from watcher.store import Store

        own = store is None
        try:
            store = store or Store(self.db_path)
            store.set_socket_state(state)
        except Exception as exc:  # a locked database: the next write says it
            log.warning("slack socket mode: state not recorded: %s", exc)
        finally:
            if own and store is not None:
                store.close()

    # ---- the work -----------------------------------------------------------------------------

    def _work(self) -> None:
        from watcher.store import Store
        from watcher.team.handlers import Handlers

        store = Store(self.db_path)
        handlers = Handlers(store, self.api, self.config, self.clock)
        try:
            while True:
                job = self.jobs.get()
                if job is None:
                    return
                kind, payload = job
                if kind == "state":
                    self._write_state(payload, store)
                    continue
                self._handle(handlers, kind, payload)
        finally:
            store.close()

    def _handle(self, handlers: Any, kind: str, payload: dict[str, Any]) -> None:
        if self.identity is None:
            self._identify()
        if self.identity is None or not self.identity.accepts(payload):
            log.warning("slack: a %s request of another app or workspace (app %s, team %s) was ignored", kind,
                        payload.get("api_app_id"), payload.get("team_id") or (payload.get("team") or {}).get("id"))
            self.handled += 1
            return
        try:
            handlers.handle(kind, payload)
            self.state["last_event_at"] = iso(self.clock())
        except Exception:  # one bad request never stops the listener
            log.exception("slack: handling a %s request failed", kind)
        finally:
            self.handled += 1


def _local(url: str) -> bool:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1")
