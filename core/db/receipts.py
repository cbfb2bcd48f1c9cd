"""The receipts' tables: one counter row per year (locked by whoever takes the next number, so
the sequence has no gap and no repeat however many workers issue at once) and the receipts
themselves, each a snapshot of what was charged or given back. Like payments they point at
`order_ids`, which is never deleted: retention removing an old order keeps its receipts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Double,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models import Base


class ReceiptCounter(Base):
    """The last number issued in `year` (the shop's calendar year, SHOP_TIMEZONE)."""

    __tablename__ = "receipt_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class ReceiptRow(Base):
    """A receipt (`factura`) or a corrective one (`rectificativa`, negative amounts, pointing
    at the receipt it corrects). Amounts in minor units of `currency`, VAT included."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # `2026-000123`: year and sequence, also kept apart for the unique pair and for sorting.
    number: Mapped[str] = mapped_column(String(16), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[str] = mapped_column(ForeignKey("order_ids.id"), index=True)
    # What it receipts, once: `payment:{id}`, `refund:{id}` or `cash:{order id}`.
    source: Mapped[str] = mapped_column(String(40), unique=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"), nullable=True)
    corrects_id: Mapped[int | None] = mapped_column(
        ForeignKey("receipts.id"), unique=True, nullable=True
    )
    issued_at: Mapped[float] = mapped_column(Double, index=True)
    # telegram, stars or cash.
    method: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[int] = mapped_column(BigInteger)
    base: Mapped[int] = mapped_column(BigInteger)
    vat: Mapped[int] = mapped_column(BigInteger)
    # The percentage it was issued at, as text ("21"): a later change of rate changes nothing.
    vat_rate: Mapped[str] = mapped_column(String(8))
    # [[name, quantity, unit price, line total], ...] as charged, delivery included.
    lines: Mapped[list[Any]] = mapped_column(JSON, default=list)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(8), default="es")
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    # From the payment's order_info when the invoice asked for it (RECEIPT_EMAIL).
    email: Mapped[str] = mapped_column(String(254), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    # When the chat got it as a document, and when the mail server took it (0: not yet).
    sent_at: Mapped[float] = mapped_column(Double, default=0.0)
    emailed_at: Mapped[float] = mapped_column(Double, default=0.0)

    __table_args__ = (UniqueConstraint("year", "seq", name="uq_receipts_year_seq"),)
