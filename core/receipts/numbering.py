"""The receipt numbers: one gapless sequence per calendar year, `2026-000123`.

The next number is taken inside the transaction that records what it receipts (the payment,
the refund): the year's counter row is locked (SELECT … FOR UPDATE on PostgreSQL; SQLite's
BEGIN IMMEDIATE already holds the one write lock), incremented, and committed or rolled back
with that record. A number is therefore never skipped (a rolled-back payment gives its number
back with it) and never used twice (the next taker waits for the lock, then reads the
incremented row). The year is read after the lock is held, so a receipt waiting on the lock
across midnight of 31 December still gets the year it is issued in, and numbers follow their
issue times.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db.engine import insert
from core.db.receipts import ReceiptCounter

DIGITS = 6


def format_number(year: int, seq: int) -> str:
    return f"{year}-{seq:0{DIGITS}d}"


def year_of(timestamp: float, zone: str) -> int:
    return datetime.fromtimestamp(timestamp, ZoneInfo(zone)).year


def _locked_last(session: Session, year: int) -> int:
    """The year's last number, its row locked until the transaction ends (made if missing)."""
    # A year's first receipt makes its row; two at once: one inserts, the other's insert
    # waits for it and does nothing, then both queue on the row's lock below.
    session.execute(
        insert(session.get_bind().dialect.name, ReceiptCounter)
        .values(year=year, last=0)
        .on_conflict_do_nothing(index_elements=["year"])
    )
    query = select(ReceiptCounter.last).where(ReceiptCounter.year == year).with_for_update()
    return int(session.execute(query).scalar_one())


def take_number(session: Session, clock: Callable[[], float], zone: str) -> tuple[int, int, float]:
    """(year, seq, issued_at) of the next receipt, in `session`'s transaction."""
    year = year_of(clock(), zone)
    while True:
        last = _locked_last(session, year)
        now = clock()
        current = year_of(now, zone)
        if current == year:
            session.execute(
                update(ReceiptCounter)
                .where(ReceiptCounter.year == year)
                .values(last=last + 1)
                .execution_options(synchronize_session=False)
            )
            return year, last + 1, now
        # The year turned while this transaction waited for the lock: the new year's row.
        year = current
