"""SQLite's writers take turns through a lock file, each starting as soon as the last commits.

SQLite lets one writer at a time hold its write lock. A writer that finds it taken waits in
SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms between
looks, whatever the holder does. A commit here takes well under a millisecond, yet a writer
that came second may sleep through many of them: with four processes writing small
transactions, the slowest waited 333 ms (41 ms taking turns), and the work took 1.3 times
as long as with writers taking turns (`bench.sqlite_turns`). The bot's threads and the
workers are such writers: every `/pedido` and every step of an order commits.

So before `BEGIN IMMEDIATE` a writer takes its turn: first among the threads of its own
process (a lock they sleep on, woken as soon as it is released), then among processes (an
exclusive `flock` on a file beside the database, `<database>.writers`, looked at every half
millisecond at most), both given back once its transaction has committed or rolled back.
Only one thread per process looks at the file: a burst of the bot's `/pedido`s once had each
of its store threads waking every half millisecond, taking the interpreter's lock from the
event loop that answers the customers. SQLite's own lock stays the one that
guards the data: a writer that does not take turns (the `sqlite3` shell, a restore) is
still kept out by it, and a turn not had within the busy timeout is given up on, leaving the
wait to SQLite.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from typing import Any

# How often a writer whose turn has not come looks again: at first at once, then less often,
# up to every half millisecond (a commit takes ~0.3 ms).
FIRST_PAUSE = 0.000_05
LONGEST_PAUSE = 0.000_5


def lock_file(database: str) -> str:
    return f"{database}.writers"


# Each database file's turn among this process's threads. Made anew in a forked child: a
# lock a parent's thread held at the fork would never be released there.
_in_process: dict[str, threading.Lock] = {}
_in_process_guard = threading.Lock()


def _thread_turn(path: str) -> threading.Lock:
    with _in_process_guard:
        return _in_process.setdefault(path, threading.Lock())


def _forget_thread_turns() -> None:
    global _in_process_guard
    _in_process.clear()
    _in_process_guard = threading.Lock()


os.register_at_fork(after_in_child=_forget_thread_turns)


class TurnTakingConnection(sqlite3.Connection):
    """A sqlite3 connection (`sqlite3.connect(factory=...)`) whose write transactions take
    turns with every other such connection to the same file, in any process."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        # Its own open file: flock's lock belongs to the open file, so each connection
        # (thread or process) takes its turn against every other.
        path = lock_file(os.fspath(database))
        self._turns = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._path = path
        self._thread_turn: threading.Lock | None = None
        self._has_turn = False

    def take_turn(self, timeout: float) -> bool:
        """Wait for this connection's turn to write; False if it did not come in time."""
        deadline = time.monotonic() + timeout
        among_threads = _thread_turn(self._path)
        if not among_threads.acquire(timeout=timeout):
            return False
        try:
            has_it = self._take_file_turn(deadline)
        finally:
            if not self._has_turn:
                among_threads.release()
        if has_it:
            self._thread_turn = among_threads
        return has_it

    def _take_file_turn(self, deadline: float) -> bool:
        pause = FIRST_PAUSE
        while True:
            try:
                fcntl.flock(self._turns, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE)
                continue
            self._has_turn = True
            return True

    def end_turn(self) -> None:
        if self._has_turn:
            self._has_turn = False
            fcntl.flock(self._turns, fcntl.LOCK_UN)
            self._give_thread_turn()

    def _give_thread_turn(self) -> None:
        turn, self._thread_turn = self._thread_turn, None
        if turn is not None:
            turn.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._has_turn = False
            if self._turns >= 0:
                os.close(self._turns)  # gives the turn back too, if held
                self._turns = -1
            self._give_thread_turn()

    def __del__(self) -> None:
        # A connection dropped without close(): its file would otherwise stay open, and its
        # threads' turn held.
        if getattr(self, "_turns", -1) >= 0:
            os.close(self._turns)
            self._turns = -1
        if getattr(self, "_thread_turn", None) is not None:
            self._give_thread_turn()
