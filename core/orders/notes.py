"""A line in an order's history that changes nothing: a message relayed between the staff
and the customer, a photo attached. It keeps the order's state on both sides (from = to), so
the history reads in order with the changes around it, and adds no time to any state."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.db.models import OrderEvent, OrderRow

# History notes are for people reading the order's story: long texts are cut here.
MAX_NOTE = 300


def add_note(session: Session, order_id: str, at: float, actor: str, note: str) -> bool:
    """In `session`: a history row for `order_id` in its current state; False when the order
    does not exist."""
    state = session.scalar(select(OrderRow.state).where(OrderRow.id == order_id))
    if state is None:
        return False
    clipped = note if len(note) <= MAX_NOTE else note[: MAX_NOTE - 1] + "…"
    session.execute(
        insert(OrderEvent).values(
            order_id=order_id, at=at, from_state=state, to_state=state, actor=actor, note=clipped
        )
    )
    return True
