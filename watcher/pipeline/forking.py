"""The one fork pool of the watcher: worker processes forked from this one, each dying with it.

Parsing and matching a cycle's bodies (watcher/pipeline/workers.py) and judging stored items after a
rules edit (watcher/pipeline/rematch.py) are CPU work that threads cannot spread over cores. Both
fork their workers here, under one guard (`may_fork`): a fork start method, two cores or more, and
no other thread in this process at the moment of the fork (a thread's lock copied into a child
would never be released there). A worker dies with its parent (Linux: PR_SET_PDEATHSIG; elsewhere
a thread watching the parent), so a killed `once` or `run` leaves no orphan behind.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # multiprocessing and ctypes are imported only when workers are forked
    from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1
MAX_WORKERS = 4


def cores() -> int:
    """How many workers a pool gets: one per core, at most MAX_WORKERS."""
    return min(MAX_WORKERS, os.cpu_count() or 1)


def may_fork(workers: int | None = None, threads_allowed: bool = False) -> bool:
    """May this process fork a pool of `workers` now? Needs two or more, a fork start method, and
    (unless the caller forks before its threads share any lock) no other running thread."""
    if (cores() if workers is None else workers) < 2:
        return False
    if not threads_allowed and threading.active_count() > 1:
        return False
    import multiprocessing  # here: a process that never forks never pays for it

    return "fork" in multiprocessing.get_all_start_methods()


@functools.cache
def libc() -> Any:
    """The C library (Linux), loaded once: a parent that forks often loads it before, so each child
    finds it loaded (ctypes.util.find_library runs ldconfig, a few ms)."""
    import ctypes
    import ctypes.util

    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when its parent ends (Linux), else poll for it."""
    if sys.platform.startswith("linux"):
        try:
            if libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _start(parent: int, init: Callable[..., None] | None, args: tuple[Any, ...]) -> None:
    die_with_parent(parent)
    if init is not None:
        init(*args)


def pool(workers: int, init: Callable[..., None] | None = None, args: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """A pool of `workers` forked processes; each dies with this process, then runs init(*args)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_start,
                               initargs=(os.getpid(), init, args))
