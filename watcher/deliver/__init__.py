"""Deliver: the outbox worked through (loop.py: claim -> send -> mark), its senders (senders.py:
Slack, webhook, console) and the rows that follow an alert in its thread (threads.py)."""
