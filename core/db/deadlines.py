"""The deadlines' table: one row per missed deadline of an order's human phase (accept,
ready, deliver), made once (unique per order and kind) by the watcher that found it; each
of its three messages is claimed by a conditional update of its column before it is sent, so
however many watcher runs there are, each is decided once (core.deadlines.store)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Double, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models import Base


class DeadlineBreachRow(Base):
    """A phase of an order that passed its due time; the times its messages were claimed."""

    __tablename__ = "deadline_breaches"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    # accept, ready or deliver (core.deadlines.rules.Kind).
    kind: Mapped[str] = mapped_column(String(8))
    due_at: Mapped[float] = mapped_column(Double)
    # 0 until claimed: the staff chat's alert, the admins' escalation, the customer's message.
    alerted_at: Mapped[float] = mapped_column(Double, default=0.0)
    escalated_at: Mapped[float] = mapped_column(Double, default=0.0)
    customer_told_at: Mapped[float] = mapped_column(Double, default=0.0)

    __table_args__ = (
        UniqueConstraint("order_id", "kind"),
        # The watcher's questions: alerts to claim or resend (by alert time), escalations to
        # claim (not escalated, by alert time) or resend.
        Index("ix_deadline_breaches_alerted", "alerted_at"),
        Index("ix_deadline_breaches_escalated", "escalated_at", "alerted_at"),
    )
