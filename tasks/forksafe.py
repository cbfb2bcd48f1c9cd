"""Clients made once per process, never shared with a forked child.

Celery's prefork pool forks its children from the worker's main process, which has made
clients of its own by then (its beat and sweep use Redis and the database) and has threads
using them. A child that went on with its parent's clients inherits their locks as they were
at the fork: redis-py resets an inherited connection pool under the pool's lock, so a lock a
parent's thread held at that instant is never released in the child, and the child's first
task hangs there for good (seen as an order stuck at "en cola" while the other children ran).
So each process builds its own clients on first use. What a child inherited stays referenced
and unused: collecting it would close it through those same locks.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def per_process(factory: Callable[[], T]) -> Callable[[], T]:
    """`factory()` made once in each process (like functools.cache, but keyed by the pid)."""
    made: dict[int, T] = {}

    @functools.wraps(factory)
    def get() -> T:
        pid = os.getpid()
        try:
            return made[pid]
        except KeyError:
            # No lock (a lock is what a fork can leave held): two threads racing here may
            # both build, and the first one stored is the one every caller gets.
            return made.setdefault(pid, factory())

    return get
