"""SQLite's writers take turns through a lock file beside the database (core.db.sqlite_turns):
a write transaction holds the turn from its BEGIN to its end, whichever way it ends, reads
never take it, and SQLite's own lock still keeps out a writer that takes no turn."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from core.db.engine import Database
from core.db.sqlite_turns import TurnTakingConnection, lock_file


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'turns.db'}")
    with database.transaction() as session:
        session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    yield database
    database.dispose()


def turn_is_free(db: Database) -> bool:
    """Whether a writer could take the turn now (looked at from a file of its own)."""
    assert db.engine.url.database
    fd = os.open(lock_file(os.path.abspath(db.engine.url.database)), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # and with it the lock, if taken
    return True


def bodies(db: Database) -> list[str]:
    with db.rows() as conn:
        return [row[0] for row in conn.execute(text("SELECT body FROM notes ORDER BY id"))]


def test_a_write_transaction_holds_the_turn_until_it_commits(db: Database) -> None:
    with db.transaction() as session:
        session.execute(text("INSERT INTO notes (body) VALUES ('uno')"))
        assert not turn_is_free(db)
    assert turn_is_free(db)
    assert bodies(db) == ["uno"]


def test_the_turn_is_given_back_when_the_transaction_fails(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as session:
        session.execute(text("INSERT INTO notes (body) VALUES ('uno')"))
        raise RuntimeError("the handler failed")
    assert turn_is_free(db)
    with pytest.raises(OperationalError), db.transaction() as session:
        session.execute(text("INSERT INTO no_such_table VALUES (1)"))
    assert turn_is_free(db)
    assert bodies(db) == []


def test_reads_take_no_turn(db: Database) -> None:
    with db.transaction() as session:
        session.execute(text("INSERT INTO notes (body) VALUES ('uno')"))
        # A writer is mid-transaction: reads go on, on their snapshot.
        with db.reading() as reader:
            assert reader.execute(text("SELECT count(*) FROM notes")).scalar() == 0
        assert bodies(db) == []
    assert bodies(db) == ["uno"]


def test_a_writer_waits_for_the_turn_then_writes(db: Database) -> None:
    """A second writer (a thread with its own connection) waits while the first holds the turn,
    and writes once it is given back: both rows, in order, no "database is locked"."""
    holding, release, second_done = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with db.transaction() as session:
            session.execute(text("INSERT INTO notes (body) VALUES ('primero')"))
            holding.set()
            release.wait(30)

    def second() -> None:
        holding.wait(30)
        with db.transaction() as session:
            session.execute(text("INSERT INTO notes (body) VALUES ('segundo')"))
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert holding.wait(30)
    assert not second_done.is_set()  # it cannot have written: the first has not committed
    release.set()
    for thread in threads:
        thread.join(30)
    assert bodies(db) == ["primero", "segundo"]


def test_a_turn_not_had_in_time_leaves_the_wait_to_sqlite(db: Database) -> None:
    path = os.path.abspath(str(db.engine.url.database))
    holder = TurnTakingConnection(path)
    waiter = TurnTakingConnection(path)
    try:
        assert holder.take_turn(timeout=1)
        assert not waiter.take_turn(timeout=0.05)
        holder.end_turn()
        assert waiter.take_turn(timeout=1)
    finally:
        holder.close()
        waiter.close()
    assert turn_is_free(db)


def test_threads_of_one_process_wait_for_the_turn_without_looking_at_the_file(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads of one process wait on a lock, woken when it is given back: only one thread
    per process looks at the file, so waiting writers do not keep taking the interpreter's
    lock from the bot's event loop."""
    path = os.path.abspath(str(db.engine.url.database))
    holder, waiter = TurnTakingConnection(path), TurnTakingConnection(path)
    looks: list[float] = []
    real_sleep = time.sleep

    def counted_sleep(seconds: float) -> None:
        looks.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr("core.db.sqlite_turns.time.sleep", counted_sleep)
    got: list[bool] = []
    try:
        assert holder.take_turn(timeout=1)
        waiting = threading.Thread(target=lambda: got.append(waiter.take_turn(timeout=5)))
        waiting.start()
        waiting.join(0.2)
        assert waiting.is_alive() and not got  # still waiting, on the lock
        holder.end_turn()
        waiting.join(5)
        assert got == [True]
        assert looks == []  # it never polled the file while another thread held the turn
        waiter.end_turn()
    finally:
        holder.close()
        waiter.close()
    assert turn_is_free(db)


def test_a_forked_child_is_not_held_by_a_turn_its_parent_held(db: Database) -> None:
    """A worker forks its pool processes while its threads may be writing: a turn held at the
    fork is the parent's to give back, and the child takes its own once the file is free."""
    path = os.path.abspath(str(db.engine.url.database))
    holder = TurnTakingConnection(path)
    given_back_read, given_back = os.pipe()
    try:
        assert holder.take_turn(timeout=1)
        pid = os.fork()
        if pid == 0:  # the child
            os.read(given_back_read, 1)
            child = TurnTakingConnection(path)
            os._exit(0 if child.take_turn(timeout=2) else 1)
        holder.end_turn()
        os.write(given_back, b"x")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        holder.close()
        os.close(given_back_read)
        os.close(given_back)


def test_a_writer_that_takes_no_turn_still_keeps_the_others_out(db: Database) -> None:
    """The sqlite3 shell or a restore takes no turn: SQLite's lock still orders the writes."""
    path = os.path.abspath(str(db.engine.url.database))
    outsider = sqlite3.connect(path, isolation_level=None)
    outsider.execute("BEGIN IMMEDIATE")
    outsider.execute("INSERT INTO notes (body) VALUES ('de fuera')")
    wrote = threading.Event()

    def writer() -> None:
        with db.transaction() as session:
            session.execute(text("INSERT INTO notes (body) VALUES ('nuestro')"))
        wrote.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert not wrote.is_set()
        outsider.execute("COMMIT")
    finally:
        outsider.close()
    thread.join(30)
    assert wrote.is_set()
    assert bodies(db) == ["de fuera", "nuestro"]


WRITER = """
import sys
from sqlalchemy import text
from core.db.engine import Database
db = Database(sys.argv[1])
for n in range(int(sys.argv[3])):
    with db.transaction() as session:
        session.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": f"{sys.argv[2]}-{n}"})
"""


def test_writers_in_several_processes_lose_nothing(db: Database) -> None:
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(db.engine.url), name, "150"])
        for name in ("a", "b", "c")
    ]
    assert [w.wait(120) for w in writers] == [0, 0, 0]
    written = bodies(db)
    assert sorted(written) == sorted(f"{name}-{n}" for name in "abc" for n in range(150))
    assert turn_is_free(db)
