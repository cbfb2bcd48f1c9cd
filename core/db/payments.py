"""The payments' tables: each Telegram payment received, once (its charge id is unique), and
each refund given or due. They point at `order_ids`, which is never deleted, so retention
removing an old order never removes the record of its money."""

from __future__ import annotations

from sqlalchemy import BigInteger, Double, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models import Base


class PaymentRow(Base):
    """A `successful_payment` as Telegram sent it: amounts in minor units of `currency`."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("order_ids.id"), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    # telegram (a provider's card payment) or stars (XTR).
    method: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    total_amount: Mapped[int] = mapped_column(BigInteger)
    # The same update twice, or a second message with this id, records nothing new.
    telegram_payment_charge_id: Mapped[str] = mapped_column(String(255), unique=True)
    # NULL for Stars (Telegram sends an empty one); unique where there is one.
    provider_payment_charge_id: Mapped[str | None] = mapped_column(
        String(255), unique=True, nullable=True
    )
    payload: Mapped[str] = mapped_column(String(128))
    shipping_option_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[float] = mapped_column(Double)


class RefundRow(Base):
    """A payment given back: `done` (Stars, refunded through Telegram) or `due` (a provider
    payment, which the staff refund at the provider and then mark done)."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("order_ids.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    telegram_payment_charge_id: Mapped[str] = mapped_column(String(255))
    provider_payment_charge_id: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[float] = mapped_column(Double)
    done_at: Mapped[float] = mapped_column(Double, default=0.0)
