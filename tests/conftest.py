"""Shared fixtures: the local Slack Web API server (`slack`) and a local feed server (`feeds`)."""

pytest_plugins = ["tests.slack_server", "tests.feed_server"]
