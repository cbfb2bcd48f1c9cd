"""The log of relayed messages: each one stored once (keyed by the Telegram message it came
from) with a line in the order's history, in one transaction, before anyone is told."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.db.engine import Database
from core.db.models import OrderRow
from core.db.relay import OrderMessageRow
from core.orders.model import Order
from core.orders.notes import add_note
from core.orders.rows import to_order

TO_CUSTOMER = "to_customer"
TO_STAFF = "to_staff"
# How each direction reads in the order's history.
HISTORY = {TO_CUSTOMER: "mensaje de la tienda", TO_STAFF: "mensaje del cliente"}


@dataclass(frozen=True)
class Relayed:
    """One relayed message as logged; `key` names its delivery (sent once under it)."""

    id: int
    order_id: str
    direction: str
    author: str
    text: str
    file_id: str
    at: float

    @property
    def key(self) -> str:
        return f"relay:{self.id}"


def message_source(chat_id: int, message_id: int) -> str:
    return f"tg:{chat_id}:{message_id}"


def _relayed(row: OrderMessageRow) -> Relayed:
    return Relayed(row.id, row.order_id, row.direction, row.author, row.text, row.file_id, row.at)


class MessageLog:
    """Relayed messages in the system of record."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    def record(
        self,
        order_id: str,
        direction: str,
        author: str,
        text: str,
        file_id: str,
        source: str,
    ) -> tuple[Relayed, bool]:
        """Log a message and its history line; the same source twice (a re-delivered update)
        returns the first record and False."""
        now = self.clock()
        row = OrderMessageRow(
            order_id=order_id,
            direction=direction,
            author=author,
            text=text,
            file_id=file_id,
            source=source,
            at=now,
        )
        note = f"{HISTORY[direction]}: {text}" if text else f"{HISTORY[direction]}: [foto]"
        try:
            with self.db.transaction() as session:
                session.add(row)
                session.flush()
                add_note(session, order_id, now, author, note)
                return _relayed(row), True
        except IntegrityError:
            with self.db.reading() as session:
                found = session.scalar(
                    select(OrderMessageRow).where(OrderMessageRow.source == source)
                )
                if found is None:
                    raise
                return _relayed(found), False

    def of_order(self, order_id: str) -> list[Relayed]:
        with self.db.reading() as session:
            rows = session.scalars(
                select(OrderMessageRow)
                .where(OrderMessageRow.order_id == order_id)
                .order_by(OrderMessageRow.id)
            )
            return [_relayed(row) for row in rows]


def status_message_order(db: Database, chat_id: int, message_id: int) -> Order | None:
    """The order whose status message is `message_id` in `chat_id`, if any."""
    with db.reading() as session:
        row = session.scalar(
            select(OrderRow)
            .where(OrderRow.chat_id == chat_id, OrderRow.status_message_id == message_id)
            .limit(1)
        )
        return to_order(row) if row is not None else None
