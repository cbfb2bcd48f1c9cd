"""The tables of the staff's conversation with customers: each message relayed through an
order, the photos attached to an order (the original kept), and each quote request's card.

All three point at `orders` with ON DELETE CASCADE: when retention deletes an order, its
messages, photo records and quote go with it (the photo files are removed by
core.retention, which deletes the order's folder under MEDIA_DIR)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Double, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models import Base

_ID = BigInteger().with_variant(Integer, "sqlite")


class OrderMessageRow(Base):
    """A message between the shop's staff and an order's customer, as relayed."""

    __tablename__ = "order_messages"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    # "to_customer" (a staff reply) or "to_staff" (the customer's).
    direction: Mapped[str] = mapped_column(String(12))
    # "staff:<user id>" or "customer:<user id>", as the order's history names actors.
    author: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    # A photo's Telegram file id ("" for text).
    file_id: Mapped[str] = mapped_column(String(255), default="")
    # The Telegram message it came from: a re-delivered update relays nothing twice.
    source: Mapped[str] = mapped_column(String(80), unique=True)
    at: Mapped[float] = mapped_column(Double)

    __table_args__ = (Index("ix_order_messages_order", "order_id", "id"),)


class OrderPhotoRow(Base):
    """A photo the customer attached to an order: Telegram's file id, and the original file
    once a worker has downloaded it (path relative to MEDIA_DIR; "" until then)."""

    __tablename__ = "order_photos"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    file_id: Mapped[str] = mapped_column(String(255))
    file_unique_id: Mapped[str] = mapped_column(String(64), default="")
    path: Mapped[str] = mapped_column(String(300), default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    source: Mapped[str] = mapped_column(String(80), unique=True)
    at: Mapped[float] = mapped_column(Double)

    __table_args__ = (Index("ix_order_photos_order", "order_id", "id"),)


class QuoteRequestRow(Base):
    """A /pedido the catalogue could not price: its card in the staff chat, and who priced
    it (0 until someone did; the first amount wins)."""

    __tablename__ = "quote_requests"

    order_id: Mapped[str] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger, default=0)
    message_id: Mapped[int] = mapped_column(BigInteger, default=0)
    # The ForceReply question "¿Importe?" asked after a Cotizar press (0: none yet).
    prompt_message_id: Mapped[int] = mapped_column(BigInteger, default=0)
    quoted_by: Mapped[int] = mapped_column(BigInteger, default=0)
    quoted_at: Mapped[float] = mapped_column(Double, default=0.0)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[float] = mapped_column(Double)

    __table_args__ = (Index("ix_quote_requests_card", "chat_id", "message_id"),)
