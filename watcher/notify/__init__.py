"""Notify: the Slack payloads, pure (messages.py: alerts, digests, reminders, changes, threads;
opstext.py: the ops alerts in Korean)."""
