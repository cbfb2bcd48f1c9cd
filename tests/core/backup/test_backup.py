"""Backups on SQLite and PostgreSQL, real engines: a copy taken while orders are being written
is one consistent moment (every order with its history), restores to identical rows, is
verified, and rotated to the newest BACKUP_KEEP."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from core.backup.copies import BackupFailed, copies, take_backup
from core.backup.engines import VerificationFailed, engine_for
from core.backup.restore import RestoreRefused, restore
from core.db.engine import Database
from core.db.schema import head_revision, migrate
from core.orders.states import OrderState
from core.orders.store import OrderStore
from tests.core.backup.conftest import assert_consistent, every_row, fill
from tests.support.processes import wait_until

DAY = 86400.0


class Writer(threading.Thread):
    """Places orders and moves each one two steps on, one transaction at a time, as the bot and
    the workers do; remembers when each transaction committed."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.db = Database(url)
        self.store = OrderStore(self.db)
        self.stop = threading.Event()
        self.commits: list[float] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        n = 0
        try:
            while not self.stop.is_set():
                order, _ = self.store.create(20 + n % 5, 20 + n % 5, f"pizza {n}", n)
                self.commits.append(time.monotonic())
                for state in (OrderState.VALIDANDO_PAGO, OrderState.PREPARANDO_ENVIO):
                    self.store.advance(order.id, state, note="bench")
                    self.commits.append(time.monotonic())
                n += 1
        except BaseException as exc:  # the test fails on it below
            self.error = exc
        finally:
            self.db.dispose()

    def finish(self) -> None:
        self.stop.set()
        self.join(timeout=30)
        assert self.error is None, self.error


def test_a_copy_taken_while_orders_are_written_restores_whole_and_identical(
    database_url: str, empty_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    fill(database_url, 20_000)
    backups = tmp_path / "backups"
    writer = Writer(database_url)
    writer.start()
    wait_until(lambda: len(writer.commits) >= 30, 30, "the writer to get going")
    during: list[Path] = []

    def a_copy_while_writing() -> bool:
        began = time.monotonic()
        copy = take_backup(database_url, backups, keep=100)
        ended = time.monotonic()
        during.append(copy.path)
        return any(began < t < ended for t in list(writer.commits))

    try:
        wait_until(a_copy_while_writing, 60, "a backup during which orders were committed")
    finally:
        writer.finish()

    # The copy taken during the writes: one moment, every order with its whole history.
    assert restore(during[-1], empty_url).revision == head_revision()
    restored = every_row(empty_url)
    assert_consistent(restored)
    final = every_row(database_url)
    assert 20_000 < len(restored["orders"]) < len(final["orders"])
    assert_consistent(final)

    # Once the writes stop, a copy restores to exactly the database's rows, here into a
    # migrated but unused database (what `make run` leaves on a fresh install).
    copy = take_backup(database_url, backups, keep=100)
    target = (
        f"sqlite:///{tmp_path / 'again.db'}"
        if database_url.startswith("sqlite")
        else request.getfixturevalue("postgres_server").new_database()
    )
    db = Database(target)
    migrate(db)
    db.dispose()
    restore(copy.path, target)
    assert every_row(target) == final


def test_rotation_keeps_the_newest_backup_keep_copies(database_url: str, tmp_path: Path) -> None:
    fill(database_url, 50)
    backups = tmp_path / "backups"
    first = 1_780_000_000.0
    taken = [take_backup(database_url, backups, keep=3, now=first + day * DAY) for day in range(5)]

    assert copies(backups) == [copy.path for copy in taken[-3:]]
    assert taken[3].removed == (taken[0].path,) and taken[4].removed == (taken[1].path,)
    assert not list(backups.glob("*.part"))

    # A half copy of a run killed a day ago goes; other files of the folder stay.
    abandoned = backups / "pedidos-20260101T020000.000Z.dump.part"
    abandoned.write_bytes(b"half")
    os.utime(abandoned, (first, first))
    notes = backups / "pedidos-notes.txt"
    notes.write_text("where the copies go after 02:00")
    take_backup(database_url, backups, keep=1)
    assert not abandoned.exists() and notes.exists()
    assert len(copies(backups)) == 1


def test_a_copy_that_does_not_read_back_is_caught(database_url: str, tmp_path: Path) -> None:
    fill(database_url, 200)
    copy = take_backup(database_url, tmp_path, keep=7).path
    engine = engine_for(database_url)
    engine.verify(copy)

    data = bytearray(copy.read_bytes())
    half = len(data) // 2
    copy.write_bytes(bytes(data[:half]) + b"\x5a" * (len(data) - half))
    with pytest.raises(VerificationFailed):
        engine.verify(copy)
    with pytest.raises(RestoreRefused, match="does not read back"):
        restore(copy, database_url, force=True)


def test_a_database_that_is_not_ours_is_not_taken_for_a_backup(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    db = Database(url)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (body TEXT)")
    db.dispose()
    backups = tmp_path / "backups"
    backups.mkdir()
    earlier = backups / "pedidos-20260101T020000.000Z.sqlite3"
    earlier.write_bytes(b"yesterday")

    with pytest.raises(BackupFailed, match="lacks the tables orders, order_history"):
        take_backup(url, backups, keep=1)
    assert copies(backups) == [earlier] and earlier.read_bytes() == b"yesterday"
    assert not list(backups.glob("*.part"))


def test_a_non_empty_database_is_not_restored_over_unless_forced(
    database_url: str, empty_url: str, tmp_path: Path
) -> None:
    fill(database_url, 30)
    copy = take_backup(database_url, tmp_path, keep=7).path
    db = Database(empty_url)
    migrate(db)
    db.dispose()
    fill(empty_url, 5)  # a database in use: its own 5 orders

    with pytest.raises(RestoreRefused, match=r"is not empty .*FORCE=1"):
        restore(copy, empty_url)
    assert len(every_row(empty_url)["orders"]) == 5

    restore(copy, empty_url, force=True)
    assert every_row(empty_url) == every_row(database_url)

    if database_url.startswith("postgresql"):
        nowhere = empty_url.rsplit("/", 1)[0] + "/no_such_database"
        with pytest.raises(
            RestoreRefused, match=r"cannot reach the database at .*no_such_database"
        ):
            restore(copy, nowhere)
