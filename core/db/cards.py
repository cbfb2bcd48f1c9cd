"""Order cards: the message in the staff chat that shows an order and carries its buttons
(core.shopfloor). One per order; found by the order, or by the message a staff member pressed
or replied to. It points at `order_ids` (never deleted), like payments."""

from __future__ import annotations

from sqlalchemy import BigInteger, Double, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models import Base


class OrderCardRow(Base):
    __tablename__ = "order_cards"

    order_id: Mapped[str] = mapped_column(ForeignKey("order_ids.id"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    posted_at: Mapped[float] = mapped_column(Double)
    # The forum topic it was posted in (0: none).
    thread_id: Mapped[int] = mapped_column(BigInteger, default=0)
    # Which of the chat's messages it is, for a reply or a press on it.
    __table_args__ = (Index("ix_order_cards_message", "chat_id", "message_id", unique=True),)
