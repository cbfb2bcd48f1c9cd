"""A forked pool child builds its own clients (tasks.forksafe): going on with its parent's, it
would hang on a lock a parent's thread held at the fork."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable

import redis

from tasks.forksafe import per_process
from tests.support.processes import wait_until


def in_child(work: Callable[[], bytes], timeout: float = 20.0) -> bytes:
    """What `work()` returns in a forked child; fails if the child hangs or dies."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only `work`, then out without running the parent's cleanups
        status = 1
        try:
            signal.alarm(int(timeout) + 5)  # never outlive the test, even when hung
            os.write(write, work())
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    try:
        ended = wait_until(
            lambda: os.waitpid(pid, os.WNOHANG)[0] == pid, timeout=timeout, what="the child"
        )
    except TimeoutError:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    assert ended
    with os.fdopen(read, "rb") as out:
        return out.read()


def test_each_process_gets_its_own_and_keeps_it() -> None:
    made = per_process(object)
    parent = made()
    assert made() is parent
    answer = in_child(lambda: f"{made() is parent} {made() is made()}".encode())
    assert answer == b"False True"
    assert made() is parent


def test_a_child_works_while_a_parent_thread_held_the_redis_pool_at_the_fork(
    redis_url: str,
) -> None:
    client = per_process(lambda: redis.Redis.from_url(redis_url))
    client().ping()  # the parent's pool now has a connection, which a child's pool resets
    pool = client().connection_pool
    holding, release = threading.Event(), threading.Event()

    def hold_the_pool() -> None:
        with pool._lock:  # as a parent's thread taking or giving back a connection
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_pool)
    holder.start()
    try:
        assert holding.wait(10)
        answer = in_child(lambda: str(client().ping()).encode())
    finally:
        release.set()
        holder.join()
    assert answer == b"True"
