"""The right to erasure: a customer's name, phone, address and the texts of their finished
orders are erased, while each order's id, dates, lines and amounts stay for the books
(bookkeeping law keeps those for years: SECURITY.md). An order still under way keeps its text
until it finishes, since the shop needs it to fulfil the order; erasing again later takes it.
Messages relayed with the staff and attached photos go the same way (core.relay.photos).
Each erased order gets a history row saying so, with who asked."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update

from core.db.engine import Database
from core.db.models import Customer, OrderEvent, OrderRow
from core.db.receipts import ReceiptRow
from core.relay.photos import erase_relayed

ERASED_TEXT = "—"


@dataclass(frozen=True)
class Erasure:
    orders: int  # finished orders whose texts were erased
    open_orders: int  # orders still under way, kept until they finish


def erase_customer(
    db: Database, user_id: int, actor: str, clock: Callable[[], float] = time.time
) -> Erasure:
    """Erase what identifies `user_id` (see the module doc), in one transaction."""
    now = clock()
    with db.transaction() as session:
        session.execute(
            update(Customer)
            .where(Customer.user_id == user_id)
            .values(name="", phone="", address="", erased_at=now, updated_at=now)
        )
        # Receipts stay whole for the books, but the email they were mailed to goes.
        session.execute(update(ReceiptRow).where(ReceiptRow.user_id == user_id).values(email=""))
        finished = list(
            session.execute(
                select(OrderRow.id, OrderRow.state).where(
                    OrderRow.user_id == user_id,
                    OrderRow.finished_at > 0,
                    OrderRow.text != ERASED_TEXT,
                )
            )
        )
        if finished:
            ids = [order_id for order_id, _ in finished]
            session.execute(
                update(OrderRow)
                .where(OrderRow.id.in_(ids))
                .values(text=ERASED_TEXT, extra={})
                .execution_options(synchronize_session=False)
            )
            erase_relayed(session, ids)
        for order_id, state in finished:
            session.add(
                OrderEvent(
                    order_id=order_id,
                    at=now,
                    from_state=state,
                    to_state=state,
                    actor=actor,
                    note="datos personales borrados",
                )
            )
        still_open = session.scalars(
            select(OrderRow.id).where(OrderRow.user_id == user_id, OrderRow.finished_at == 0)
        ).all()
    return Erasure(orders=len(finished), open_orders=len(still_open))
