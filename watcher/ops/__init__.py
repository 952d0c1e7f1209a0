"""Ops: is the watcher doing its job? `status --check` (check.py) and `/metrics` (metrics.py)."""
