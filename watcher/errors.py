"""The few named errors of the watcher; the CLI turns each into one clear line."""

from __future__ import annotations


class WatcherError(Exception):
    """Base of every error a user may see. str(err) is the one line shown."""


class ConfigError(WatcherError):
    """sources.yaml / rules.yaml problems, each formatted `FILE:LINE: message`."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class SourceError(WatcherError):
    """A source failed in one stage; message reads `stage: detail`."""

    def __init__(self, stage: str, detail: str, retry_after: float | None = None):
        self.stage = stage
        self.detail = detail
        self.retry_after = retry_after  # seconds the source asked us to wait (429/503)
        super().__init__(f"{stage}: {detail}")


class FetchError(SourceError):
    def __init__(self, detail: str, retry_after: float | None = None):
        super().__init__("fetch", detail, retry_after)


class ParseError(SourceError):
    def __init__(self, detail: str):
        super().__init__("parse", detail)


class DeliveryError(WatcherError):
    """Slack did not accept a message.

    retryable: network, 5xx, 429 (retry_after seconds when Slack said so).
    Not retryable (permanent): invalid_auth, channel_not_found, not_in_channel, ...
    """

    def __init__(self, detail: str, retryable: bool = True, retry_after: float | None = None):
        self.detail = detail
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(f"slack: {detail}")


class InputError(WatcherError):
    """Bad command-line input (unknown source or rule, reversed dates, two output formats): the CLI
    prints `error: <message>` and exits 2."""


class MissingDatabase(InputError):
    """A read-only command was pointed at a database that does not exist (nothing is created)."""

    def __init__(self, path: object):
        self.path = path
        super().__init__(f"no database at {path} (run `watcher once` first, or pass --db FILE)")


def database_error(path: object, exc: Exception) -> str:
    """One line for an SQLite error, naming the database file (and what to do when it was locked)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "locked" in text or "busy" in text:
        text += " (another watcher process held it longer than the busy timeout; WATCHER_BUSY_TIMEOUT sets it)"
    elif "disk is full" in text or "disk I/O" in text:
        text += " (free some disk space; nothing committed is lost)"
    return f"database {path}: {text}"
