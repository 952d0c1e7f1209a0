"""Fetch: one polite HTTP request per poll (poll.py: conditional GET, whole-request deadline, size
cap, paging) over the process's requests Session (session.py)."""
