"""Pipeline: one poll round (cycle.py), `watcher run`'s loop (loop.py), the fork pool (forking.py)
and its parse workers (workers.py), rules edits applied to what is stored (rematch.py), `rules test`
(backtest.py) and `watcher demo` (demo.py)."""
