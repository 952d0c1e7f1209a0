"""Polite polling: how long a failing source waits before its next poll."""

import pytest

from watcher.health import BACKOFF_CAP, backoff_delay


@pytest.mark.parametrize("failures,retry_after,expected", [
    (0, None, 600),            # healthy: its interval
    (1, None, 600),            # first failure: try again on schedule
    (2, None, 1200),           # then doubling
    (4, None, 4800),
    (30, None, BACKOFF_CAP),   # capped
    (1, 3600, 3600),           # Retry-After wins when longer
    (3, 60, 2400),             # ... and never shortens the backoff
])
def test_backoff_delay(failures, retry_after, expected):
    assert backoff_delay(600, failures, retry_after) == expected


def test_backoff_cap_never_below_the_interval():
    assert backoff_delay(2 * BACKOFF_CAP, 5) == 2 * BACKOFF_CAP
