"""The tables of the system of record, as typed SQLAlchemy models.

Times are seconds since the epoch (UTC) as double precision, as everywhere else in the code
(`time.time()`); money, when it comes, is integers in the currency's minor units. Order ids are
unique forever: `order_ids` keeps every id ever issued even after retention deletes an order, so
no payment idempotency key or message key built from an id is ever reused.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so migrations can name what they change on every engine.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class IssuedOrderId(Base):
    """Every order id ever issued; never deleted (retention deletes orders, not their ids)."""

    __tablename__ = "order_ids"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    issued_at: Mapped[float] = mapped_column(Double)


class Customer(Base):
    """A Telegram user who ordered: language, and what checkout asks for (erasable)."""

    __tablename__ = "customers"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(8), default="es")
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)
    # When the customer's personal data was erased (/borrar_mis_datos); 0: never.
    erased_at: Mapped[float] = mapped_column(Double, default=0.0)


_UNFINISHED = text("finished_at = 0")


class OrderRow(Base):
    """One order. Its state changes only by conditional updates with a history row."""

    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(ForeignKey("order_ids.id"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(24))
    step: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)
    finished_at: Mapped[float] = mapped_column(Double, default=0.0)
    status_message_id: Mapped[int] = mapped_column(BigInteger, default=0)
    task_id: Mapped[str] = mapped_column(String(64), default="")
    task_ids: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="es")
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Where the order came from (a Telegram message, a CSV row): the same source twice (a
    # re-delivered update) finds the first order instead of making a second.
    source: Mapped[str | None] = mapped_column(String(120), unique=True)
    # The watcher: when the order was alerted as stale, and by which run.
    stale_alerted_at: Mapped[float] = mapped_column(Double, default=0.0)
    stale_run: Mapped[str] = mapped_column(String(64), default="")
    # The Redis epoch (core.recovery.epoch) its chain was queued in: an unfinished order queued
    # in another epoch lost its messages with that Redis, and the sweep queues it again.
    queued_epoch: Mapped[str] = mapped_column(String(32), default="")
    # Money (core.db.shop has the lines): minor units of `currency`; "" and 0 for a free-text
    # order of a shop without a catalogue.
    currency: Mapped[str] = mapped_column(String(3), default="")
    subtotal: Mapped[int] = mapped_column(BigInteger, default=0)
    delivery_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    # How it is paid: "" none (no payment method: never charged), later telegram/stars/cash.
    payment_method: Mapped[str] = mapped_column(String(16), default="")
    # Who paid and where it goes, from the payment's order_info (erasable, as customers').
    customer_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    customer_phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    shipping_address: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Whether the order holds stock reserved at checkout (given back if it is cancelled/fails).
    stock_reserved: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped by every change of state (an optimistic check for whoever read the order).
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        Index("ix_orders_chat_created", "chat_id", "created_at"),
        # Reports page through orders by (created_at, id): a row comparison on this index.
        Index("ix_orders_created", "created_at", "id"),
        # The watcher's and the recovery sweep's question, "unfinished orders by age", reads
        # only unfinished rows: its cost follows what is open, not everything ever sold. No
        # column a transition or the watcher's mark changes is a key (migration 0009): on
        # PostgreSQL those updates stay heap-only (HOT), no index entry written.
        Index(
            "ix_orders_unfinished",
            "created_at",
            postgresql_where=_UNFINISHED,
            sqlite_where=_UNFINISHED,
        ),
        Index("ix_orders_finished", "finished_at"),
    )


class OrderEvent(Base):
    """The order's history, append-only: every change of state, who made it, and a note."""

    __tablename__ = "order_history"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    at: Mapped[float] = mapped_column(Double)
    from_state: Mapped[str] = mapped_column(String(24), default="")
    to_state: Mapped[str] = mapped_column(String(24))
    # "system", "customer:<user id>" or "staff:<user id>".
    actor: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_order_history_order", "order_id", "id"),)
