"""What an export reads: the orders of a period, a page at a time, each with its lines, its
payments and its refunds.

Pages are keyset pages on (created_at, id), the orders' creation index, as the reports read
them: each page is one short read (four queries in one transaction), so memory holds one page
whatever the range, and a long export never holds the database for its whole length (on SQLite
a read takes the write lock for its transaction: a page's milliseconds, not the export's
minutes). A page is consistent in itself; an order that changes while the export runs shows as
it was when its page was read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Select,
    String,
    any_,
    bindparam,
    func,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from core.db.engine import Database
from core.db.models import OrderRow
from core.db.payments import PaymentRow, RefundRow
from core.db.shop import OrderLineRow

# Orders per page: a page of orders with their lines is about a MB in memory and its read
# some tens of milliseconds of a transaction; fewer, larger pages save round trips (bench.exports:
# 2,000 read a PostgreSQL range faster than 1,000, 5,000 no faster), and 2,000 ids in an IN
# list are well within SQLite's 32,766 bound values.
PAGE = 2000
# A refund given back (Stars, or a card refund the staff marked done); `due` is still owed.
REFUND_DONE = "done"

_orders = OrderRow.__table__
_lines = OrderLineRow.__table__
_payments = PaymentRow.__table__
_refunds = RefundRow.__table__


# One priced line of an order, as checkout copied it: (order_id, position, sku, name_es,
# name_en, unit_price, quantity, line_total), kept as the database row it is read as (a million
# lines make no million objects).
ExportLine = tuple[str, int, str, str, str, int, int, int]


@dataclass(slots=True)
class ExportOrder:
    """An order and its money: amounts in minor units of `currency`."""

    id: str
    created_at: float
    state: str
    user_id: int
    customer: str
    text: str
    currency: str
    subtotal: int
    delivery_fee: int
    total: int
    payment_method: str
    lines: list[ExportLine] = field(default_factory=list)
    # Every payment recorded for the order, and what was refunded of them (done / still due).
    paid: int = 0
    refunded: int = 0
    refund_due: int = 0
    telegram_charge_ids: list[str] = field(default_factory=list)
    provider_charge_ids: list[str] = field(default_factory=list)


def count_orders(db: Database, start: float, end: float) -> int:
    """How many orders were created in [start, end) (the progress bar's total)."""
    query = (
        select(func.count())
        .select_from(_orders)
        .where(_orders.c.created_at >= start, _orders.c.created_at < end)
    )
    with db.reading() as session:
        return int(session.scalar(query) or 0)


def _page_query(after: tuple[float, str], end: float, batch: int) -> Select[Any]:
    return (
        select(
            _orders.c.id,
            _orders.c.created_at,
            _orders.c.state,
            _orders.c.user_id,
            _orders.c.customer_name,
            _orders.c.text,
            _orders.c.currency,
            _orders.c.subtotal,
            _orders.c.delivery_fee,
            _orders.c.total,
            _orders.c.payment_method,
        )
        .where(_orders.c.created_at < end)
        .where(tuple_(_orders.c.created_at, _orders.c.id) > tuple_(*after))
        .order_by(_orders.c.created_at, _orders.c.id)
        .limit(batch)
    )


def pages(db: Database, start: float, end: float, batch: int = PAGE) -> Iterator[list[ExportOrder]]:
    """The orders created in [start, end), oldest first, `batch` at a time, whole."""
    after: tuple[float, str] = (start, "")
    while True:
        with db.reading() as session:
            page = session.execute(_page_query(after, end, batch)).all()
            orders = [ExportOrder(*row) for row in page]
            if not orders:
                return
            _add_money(session, {order.id: order for order in orders}, db.dialect)
        yield orders
        after = (orders[-1].created_at, orders[-1].id)


def _of_page(column: ColumnElement[Any], ids: list[str], dialect: str) -> ColumnElement[bool]:
    """`column` holds one of the page's order ids: each id one probe of the table's order
    index. PostgreSQL gets them as one array (`= ANY(:ids)`): as an IN list, rendering and
    sending 2,000 parameters cost more than the query. (A join on the page's range of the
    creation index instead led PostgreSQL, which misjudges how many orders a row-value range
    holds, to scan every line for each page.)"""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", ids, type_=ARRAY(String)))
    return column.in_(ids)


def _add_money(session: Session, by_id: dict[str, ExportOrder], dialect: str) -> None:
    """The page's lines, payments and refunds, one query each."""
    ids = list(by_id)
    lines = (
        select(
            _lines.c.order_id,
            _lines.c.position,
            _lines.c.sku,
            _lines.c.name_es,
            _lines.c.name_en,
            _lines.c.unit_price,
            _lines.c.quantity,
            _lines.c.line_total,
        )
        .where(_of_page(_lines.c.order_id, ids, dialect))
        .order_by(_lines.c.order_id, _lines.c.position)
    )
    for line in session.execute(lines).all():
        by_id[line[0]].lines.append(line)
    payments = (
        select(
            _payments.c.order_id,
            _payments.c.currency,
            _payments.c.total_amount,
            _payments.c.telegram_payment_charge_id,
            _payments.c.provider_payment_charge_id,
        )
        .where(_of_page(_payments.c.order_id, ids, dialect))
        .order_by(_payments.c.id)
    )
    for order_id, currency, amount, telegram_charge, provider_charge in session.execute(
        payments
    ).all():
        order = by_id[order_id]
        order.currency = order.currency or currency  # a payment always names its currency
        order.paid += amount
        order.telegram_charge_ids.append(telegram_charge)
        if provider_charge:
            order.provider_charge_ids.append(provider_charge)
    refunds = select(_refunds.c.order_id, _refunds.c.amount, _refunds.c.status).where(
        _of_page(_refunds.c.order_id, ids, dialect)
    )
    for order_id, amount, status in session.execute(refunds).all():
        if status == REFUND_DONE:
            by_id[order_id].refunded += amount
        else:
            by_id[order_id].refund_due += amount
