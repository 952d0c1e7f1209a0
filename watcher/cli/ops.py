"""Commands for running the watcher in production: `status --check` (called from cli.status) and
`watcher slack test`. Output in English, like the rest of the CLI; the Slack test message itself
is Korean, like every message the team reads in Slack.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

import click

from watcher.cli.common import Group, command, setting
from watcher.errors import ConfigError, DeliveryError
from watcher.models import Config


def status_check(config: Config, db_path: str) -> int:
    """Print why the watcher is unhealthy (one line each) or one `healthy:` line -> exit code."""
    from watcher.health import source_rows
    from watcher.ops import check as opscheck
    from watcher.pipeline.cycle import now_kst
    from watcher.store import Store

    store = Store.open_readonly(db_path)
    if store is None:
        click.echo(f"database {db_path} does not exist: no poll round has run yet (run `watcher once`)")
        return 1
    try:
        now = now_kst()
        problems = opscheck.reasons(config, store, now, source_rows(config, store, now))
        click.echo("\n".join(problems) if problems else opscheck.healthy_line(config, store))
    finally:
        store.close()
    return 1 if problems else 0


# ---------------------------------------------------------------- watcher slack test

# Slack's error codes -> what to do, one line (BOT: the bot's name when auth.test told us).
HINTS = {
    "not_in_channel": "the bot is not a member of {channel}: type `/invite @{bot}` in {channel}, "
                      "or add the chat:write.public scope to the app and reinstall it",
    "channel_not_found": "no channel {channel} that the bot can see: check the name (or use the channel ID, "
                         "C0123...); a private channel needs `/invite @{bot}` first",
    "is_archived": "{channel} is archived: unarchive it or choose another channel",
    "channel_is_archived": "{channel} is archived: unarchive it or choose another channel",
    "invalid_auth": "SLACK_BOT_TOKEN is not a valid token: copy the Bot User OAuth Token (xoxb-...) from the "
                    "app's OAuth & Permissions page; in the environment file write it without quotes "
                    "(SLACK_BOT_TOKEN=xoxb-..., docker --env-file keeps quotes as part of the token)",
    "not_authed": "no token reached Slack: set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-...)",
    "token_revoked": "the token was revoked (app uninstalled?): reinstall the app and copy the new xoxb- token",
    "token_expired": "the token expired: reinstall the app (or turn off token rotation) and copy the new token",
    "account_inactive": "the token belongs to a deleted user or an uninstalled app: reinstall the app",
    "missing_scope": "the app lacks the chat:write scope: add it under OAuth & Permissions and reinstall the app",
    "no_permission": "the token may not post here: add the chat:write scope and reinstall the app",
    "restricted_action": "a workspace setting stops the bot posting in {channel}: ask an admin, or use another channel",
    "posting_to_general_channel_denied": "only admins may post in {channel}: use another channel",
    "invalid_token": "SLACK_WEBHOOK_URL is not a valid webhook: create a new incoming webhook and copy its URL",
    "no_service": "the incoming webhook was removed or disabled: create a new one and set SLACK_WEBHOOK_URL",
    "no_active_hooks": "incoming webhooks are turned off for this app: turn them on and create a webhook",
    "action_prohibited": "a workspace admin restricted this webhook: ask an admin, or use a bot token",
    "ratelimited": "Slack rate-limited this request: wait a minute and try again",
}


def hint(error: DeliveryError, channel: str, bot: str) -> str:
    code = error.detail.split(" ", 1)[0].split(":", 1)[0]
    if error.detail.startswith("network"):
        return (f"cannot reach Slack ({error.detail.removeprefix('network: ')}): check the network, a proxy, "
                "or SLACK_API_URL")
    text = HINTS.get(code)
    if text is None:
        return f"Slack refused the message: {error.detail}"
    return f"{code}: " + text.format(channel=channel, bot=bot)


def test_message(channel: str) -> dict[str, Any]:
    from watcher.pipeline.cycle import now_kst

    stamp = now_kst().strftime("%Y-%m-%d %H:%M")
    text = (f"gongmo-watcher 연결 테스트입니다. 이 메시지가 보이면 {channel} 채널로 공모 알림을 받을 수 있습니다. "
            f"({stamp} KST, {socket.gethostname()})")
    from watcher.notify.messages import escape

    return {"text": escape(text)}


def _bot_name(env: dict[str, str]) -> str:
    """The bot's user name from auth.test, for the /invite hint; `app` when it cannot be told."""
    token = (env.get("SLACK_BOT_TOKEN") or "").strip()
    if not token:
        return "app"
    try:
        from slack_sdk.web import WebClient

        from watcher.deliver.senders import DEFAULT_API_URL, TIMEOUT

        base = (env.get("SLACK_API_URL") or "").strip() or DEFAULT_API_URL
        client = WebClient(token=token, base_url=base.rstrip("/") + "/", timeout=int(TIMEOUT), retry_handlers=[])
        answer = client.auth_test()
        return str(answer.get("user") or answer.get("user_id") or "app")
    except Exception:  # noqa: BLE001 - the name only improves a hint; chat.postMessage says what is wrong
        return "app"


def channels_of(config_rules: Any) -> list[str]:
    channels = [r.channel for r in config_rules.rules]
    if config_rules.ops_channel:
        channels.append(config_rules.ops_channel)
    return list(dict.fromkeys(channels))


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def slack() -> None:
    """Check the Slack set-up."""


@command(group=slack, name="test")
@click.option("--channel", "channels", multiple=True, metavar="C",
              help="channel to post to (repeatable) [default: every channel rules.yaml posts to]")
def slack_test(channels: tuple[str, ...]) -> None:
    """Post one test message (in Korean) to each channel; say what to do about each Slack error.

    Exit 0 when Slack accepted every message, 1 otherwise.

    Example: SLACK_BOT_TOKEN=xoxb-... watcher slack test --channel '#gongmo'
    """
    from watcher.config.load import load_rules
    from watcher.deliver.senders import ConsoleSender, make_sender

    env = dict(os.environ)
    sender = make_sender(env)
    if isinstance(sender, ConsoleSender):
        click.echo("missing token: set SLACK_BOT_TOKEN (a bot token, xoxb-...) or SLACK_WEBHOOK_URL "
                   "(an incoming webhook); without either alerts are only printed", err=True)
        sys.exit(1)
    if not channels:
        try:
            channels = tuple(channels_of(load_rules(setting("rules"))))
        except ConfigError as exc:
            raise click.UsageError(f"pass --channel, or fix rules.yaml:\n{exc}") from None
    from watcher.config import envcheck

    for line in envcheck.problems(env, ())[0]:  # a quoted token or webhook URL fails with invalid_auth
        click.echo(line, err=True)
    token = (env.get("SLACK_BOT_TOKEN") or "").strip()
    if token and not token.strip("\"'").startswith("xoxb-"):
        click.echo("note: SLACK_BOT_TOKEN does not start with xoxb- (a bot token); user tokens post as a person",
                   err=True)
    webhook = not token
    if not webhook and not channels:
        raise click.UsageError("rules.yaml names no channel: pass --channel C")
    bot = "app" if webhook else _bot_name(env)
    failed = 0
    for channel in ["the webhook's channel"] if webhook else channels:
        try:
            sender.send(channel, test_message(channel))
        except DeliveryError as exc:
            failed += 1
            click.echo(f"{channel}: {hint(exc, channel, bot)}", err=True)
            continue
        click.echo(f"{channel}: ok, test message posted" + (f" as @{bot}" if bot != "app" else ""))
    if webhook and channels:
        click.echo("note: an incoming webhook posts to the one channel it was made for, whatever --channel "
                   "or rules.yaml say; rule channels need SLACK_BOT_TOKEN", err=True)
    sys.exit(1 if failed else 0)
