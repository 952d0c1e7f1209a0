"""What the listener does with each request Slack sends over the socket (already acknowledged, and
already checked to come from our app and workspace): button clicks (`block_actions`), the `/공모`
slash command, and App Home (`app_home_opened`).

A click names the announcement alert of its message. It changes something only when that alert is
one the store sent and the click came from that very message (its channel and ts), or from the
member's own App Home; otherwise the member is told, politely and only to them, and nothing changes.
Once stored (who, what, when: store/triage.py), every message that shows the call, in every channel,
is rewritten (chat.update; when Slack does not take it at once, through the outbox).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from watcher.desk import Query
from watcher.match.explain import hit_words
from watcher.models import Config
from watcher.notify import team as views
from watcher.notify.teamtext import ASSIGN, ASSIGN_LABEL, state_label
from watcher.parse.links import canonical_link
from watcher.team.render import render_post
from watcher.team.slackapi import SlackApi

log = logging.getLogger("watcher.team")
SEARCH_SHOWN = views.LINES_SHOWN
OPEN_WORDS = {"마감임박": "deadline", "접수중": "newest"}  # slash words -> open calls, sorted so

UNKNOWN_CALL = "이 버튼의 공고는 알리미가 저장한 알림이 아닙니다. 아무것도 바꾸지 않았습니다."
OTHER_MESSAGE = ("이 메시지는 이 채널에 보낸 알림이 아닙니다 (전달되었거나 다른 곳의 메시지). "
                 "아무것도 바꾸지 않았습니다. 원래 알림의 버튼을 눌러 주세요.")


class Handlers:
    """One per listener; used by its one worker thread (the store's connection is that thread's)."""

    def __init__(self, store: Any, api: SlackApi, config: Callable[[], Config | None],
                 clock: Callable[[], datetime]) -> None:
        self.store, self.api, self.config, self.clock = store, api, config, clock

    # ---- dispatch -------------------------------------------------------------------------------

    def handle(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "interactive" and payload.get("type") == "block_actions":
            self.actions(payload)
        elif kind == "slash_commands":
            self.command(payload)
        elif kind == "events_api":
            event = payload.get("event") or {}
            if event.get("type") == "app_home_opened" and event.get("tab", "home") == "home" and event.get("user"):
                self.publish_home(str(event["user"]))

    def _public_url(self) -> str | None:
        config = self.config()
        return config.rules.public_url if config else None

    def _name(self, user: str, hint: str | None = None) -> str:
        """The member's name: cached, else users.info (remembered), else what the payload said."""
        name = self.store.member_name(user)
        if name:
            return name
        name = self.api.user_name(user) or hint or user
        self.store.remember_member(user, name, self.clock())
        return name

    # ---- clicks ---------------------------------------------------------------------------------

    def actions(self, payload: dict[str, Any]) -> None:
        user = (payload.get("user") or {}).get("id")
        if not user:
            return
        for action in payload.get("actions") or []:
            parsed = views.parse_action(action)
            if parsed is not None:
                self.click(payload, str(user), *parsed)

    def _reply(self, payload: dict[str, Any], text: str) -> None:
        channel = (payload.get("channel") or {}).get("id") or (payload.get("container") or {}).get("channel_id")
        self.api.reply(views.ephemeral(text), payload.get("response_url"), channel,
                       (payload.get("user") or {}).get("id"))

    def _from_its_message(self, payload: dict[str, Any], target: dict[str, Any]) -> bool:
        """The click came from the alert's own message (channel and ts), or from the App Home."""
        container = payload.get("container") or {}
        if container.get("type") == "view":
            view = payload.get("view") or {}
            return view.get("type") == "home"
        if container.get("type") != "message" or container.get("message_ts") != target.get("slack_ts"):
            return False
        clicked = str(container.get("channel_id") or "")
        named = str(target["channel"])
        known = self.store.channel_ids().get(named)
        channel_name = (payload.get("channel") or {}).get("name")
        if clicked in (named, known):
            return True
        if known is None and channel_name and named.lstrip("#") == channel_name:
            self.store.remember_channels({named: clicked})  # learnt from Slack itself
            return True
        return False

    def click(self, payload: dict[str, Any], user: str, alert_id: int, code: str) -> None:
        target = self.store.action_target(alert_id)
        if target is None or target.get("status") != "sent" or not target.get("slack_ts"):
            self._reply(payload, UNKNOWN_CALL)
            return
        if not self._from_its_message(payload, target):
            self._reply(payload, OTHER_MESSAGE)
            return
        hint = (payload.get("user") or {}).get("name") or (payload.get("user") or {}).get("username")
        name = self._name(user, hint)
        call = target["call"]
        action, value = ("assign", None) if code == ASSIGN else ("state", code)
        self.store.record_action(call, action, value, user, name, self.clock(), channel=target["channel"],
                                 source=target.get("source"), ann_id=target.get("ann_id"),
                                 rules=target["rules"] if code == "dismissed" else None)
        log.info("%s: %s by %s (%s)", call, ASSIGN_LABEL if code == ASSIGN else state_label(code), name, user)
        self.update_messages(call)
        if code == "dismissed":
            sent_by = "; ".join(f"{r.get('rule')} ({', '.join(hit_words(r)) or '-'})" for r in target["rules"])
            self._reply(payload, f"'관심 없음'으로 표시했습니다. 이 알림을 보낸 규칙: {sent_by}. "
                                 "`watcher rules report` 에서 규칙을 고칠 때 참고합니다.")
        if (payload.get("container") or {}).get("type") == "view":
            self.publish_home(user)

    def update_messages(self, call: str) -> int:
        """Rewrite every message showing the call; -> messages Slack took at once."""
        team = self.store.team_of([call])
        now, public_url, done = self.clock(), self._public_url(), 0
        for post in self.store.call_messages(call):
            payload = render_post(post, team, now, public_url)
            if payload is None:
                continue
            error = self.api.update(post["channel_id"], post["ts"], payload)
            if error is None:
                done += 1
                continue
            retry = error.retryable and len(post["alerts"]) == 1
            log.warning("%s: chat.update: %s%s", post["channel"], error, " (sent again through the outbox)" * retry)
            if retry:
                self.store.queue_message_update(post["alerts"][0]["id"], now)
        return done

    # ---- /공모 ----------------------------------------------------------------------------------

    def command(self, payload: dict[str, Any]) -> None:
        text = " ".join(str(payload.get("text") or "").split())
        words = text.split(" ") if text else []
        user = str(payload.get("user_id") or "")
        if not words or words[0] in ("도움말", "help", "?"):
            reply = views.help_reply()
        elif text.replace(" ", "") in ("내담당", "내것", "mine"):
            reply = views.mine_reply(self.store.assigned_calls(user), self.clock().date())
        elif words[0] in ("놓침", "놓친공고", "missed"):
            reply = views.ephemeral(self.missed(words[1:], payload))
        else:
            reply = self.search(words)
        self.api.reply(reply, payload.get("response_url"), payload.get("channel_id"), user)

    def search(self, words: list[str]) -> dict[str, Any]:
        """The search `watcher search` runs (newest first, calls without a deadline kept), top results;
        `마감임박`: open calls, closest deadline first; `접수중`: open calls."""
        sort = next((OPEN_WORDS[w] for w in words if w in OPEN_WORDS), None)
        query_text = " ".join(w for w in words if w not in OPEN_WORDS)
        now = self.clock()
        query = Query(q=query_text, open_only=sort is not None, sort=sort or "newest")
        found = self.store.find(query, now.date(), limit=SEARCH_SHOWN)
        rows = self.store.annotate_team(found.rows)
        web = None
        if self._public_url():
            extra = "&open=1&sort=deadline" if sort == "deadline" else "&open=1" if sort else ""
            web = f"{self._public_url().rstrip('/')}/search?q={quote(query_text, safe='')}{extra}"  # type: ignore[union-attr]
        return views.search_reply(" ".join(words), rows, found.total, now.date(), web)

    def missed(self, words: list[str], payload: dict[str, Any]) -> str:
        """`/공모 놓침 <link> [rule]`: mark a stored call that no alert announced."""
        if not words:
            return "쓰는 법: `/공모 놓침 <공고 링크> [규칙 이름]`"
        link = re.sub(r"^<([^|>]+)(\|[^>]*)?>$", r"\1", words[0])
        row = self.store.find_call(canonical_link(link), link)
        if row is None:
            return f"저장된 공고에서 {link} 를 찾지 못했습니다. 아무것도 바꾸지 않았습니다."
        if row["alerted"]:
            return f"'{row['title']}' 는 이미 알림이 간 공고입니다. 놓친 공고로 표시하지 않았습니다."
        rule, problem = self._rule_for(words[1:], payload)
        if problem:
            return problem
        user = str(payload.get("user_id") or "")
        name = self._name(user, payload.get("user_name"))
        channel = payload.get("channel_name")
        fresh = self.store.mark_missed(row, rule, user, name, self.clock(), f"#{channel}" if channel else None)
        by = f" (규칙 {rule})" if rule else " (규칙 미지정: `/공모 놓침 <링크> 규칙이름` 으로 정할 수 있습니다)"
        what = "놓친 공고로 표시했습니다" if fresh else "이미 놓친 공고로 표시되어 있습니다"
        return f"'{row['title']}' {what}{by}. `watcher rules report` 와 `watcher labels export` 에 나옵니다."

    def _rule_for(self, words: list[str], payload: dict[str, Any]) -> tuple[str | None, str | None]:
        """The rule a missed call should have matched: the one named (by name or label), else the only
        rule posting to this channel, else none. -> (rule, a problem to tell the member)."""
        config = self.config()
        rules = list(config.rules.rules) if config else []
        if words:
            wanted = " ".join(words)
            for rule in rules:
                if wanted in (rule.name, rule.label):
                    return rule.name, None
            if not rules:
                return wanted, None
            names = ", ".join(r.name for r in rules)
            return None, (f"규칙 '{wanted}' 이(가) rules.yaml 에 없습니다 (있는 규칙: {names}). "
                          "아무것도 바꾸지 않았습니다.")
        here = {f"#{payload.get('channel_name')}", str(payload.get("channel_id"))}
        local = [r.name for r in rules if r.channel in here]
        return (local[0] if len(local) == 1 else None), None

    # ---- App Home -------------------------------------------------------------------------------

    def publish_home(self, user: str) -> bool:
        now = self.clock()
        view = views.home_view(self.store.assigned_calls(user), self.store.unassigned_closing(now), now.date())
        return self.api.publish_home(user, view)
