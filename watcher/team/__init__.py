"""The team's pipeline in Slack (#26): Socket Mode listener (button clicks, the `/공모` slash command,
App Home), the buttons and status lines put on alerts, and the team's judgment for the rules. An I/O
edge over the store (watcher/store/triage.py) and the pure payloads (watcher/notify/team.py)."""
