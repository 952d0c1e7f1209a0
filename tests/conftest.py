"""Shared fixtures: the local Slack Web API server (`slack`)."""

pytest_plugins = ["tests.slack_server"]
