"""Shared fixtures: the local Slack Web API server (`slack`), its Socket Mode endpoint (`socket_mode`)
and a local feed server (`feeds`)."""

pytest_plugins = ["tests.slack_server", "tests.socket_server", "tests.feed_server"]
