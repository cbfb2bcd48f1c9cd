"""A period's figures from the system of record: money by day (payments and refunds, when they
happened), the period's orders by state and their best-selling products. Amounts are integers
in minor units, added up exactly as the database holds them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db.engine import Database
from core.db.models import OrderRow
from core.db.payments import PaymentRow, RefundRow
from core.db.shop import OrderLineRow
from core.orders.states import OrderState
from core.reports.history import BATCH
from core.reports.period import Period

TOP = 10
# Orders whose lines count as sold: placed and not (yet) undone. Quotes and unpaid invoices
# are not sales; a cancelled or failed order gave its stock back.
NOT_SOLD = (
    OrderState.POR_COTIZAR,
    OrderState.POR_CONFIRMAR,
    OrderState.AWAITING_PAYMENT,
    OrderState.FALLIDO,
    OrderState.CANCELADO,
)


@dataclass
class DayMoney:
    paid: int = 0
    refunded: int = 0

    @property
    def net(self) -> int:
        return self.paid - self.refunded


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    quantity: int
    revenue: int


@dataclass
class Figures:
    """What the period adds up to, in the shop's currency (other currencies apart, net)."""

    currency: str
    days: dict[date, DayMoney]
    payments: int = 0
    refunds: int = 0
    refunds_due: int = 0
    other_currencies: Counter[str] = field(default_factory=Counter)
    by_state: dict[OrderState, int] = field(default_factory=dict)
    by_quantity: list[Product] = field(default_factory=list)
    by_revenue: list[Product] = field(default_factory=list)

    @property
    def paid(self) -> int:
        return sum(day.paid for day in self.days.values())

    @property
    def refunded(self) -> int:
        return sum(day.refunded for day in self.days.values())

    @property
    def net(self) -> int:
        return self.paid - self.refunded

    @property
    def orders(self) -> int:
        return sum(self.by_state.values())


def read_figures(db: Database, period: Period, currency: str, language: str) -> Figures:
    """The figures of `period` in `currency`; product names in `language` where known."""
    figures = Figures(currency, {day: DayMoney() for day in period.days})
    start, end = period.bounds()
    with db.reading() as session:
        _money(session, figures, period, start, end)
        states = session.execute(
            select(OrderRow.state, func.count())
            .where(OrderRow.created_at >= start, OrderRow.created_at < end)
            .group_by(OrderRow.state)
        )
        figures.by_state = {OrderState(state): count for state, count in states}
        figures.by_quantity = _top(session, currency, language, start, end, "quantity")
        figures.by_revenue = _top(session, currency, language, start, end, "revenue")
    return figures


def _money(session: Session, figures: Figures, period: Period, start: float, end: float) -> None:
    payments = select(PaymentRow.created_at, PaymentRow.currency, PaymentRow.total_amount).where(
        PaymentRow.created_at >= start, PaymentRow.created_at < end
    )
    for at, currency, amount in session.execute(payments.execution_options(yield_per=BATCH)):
        if currency != figures.currency:
            figures.other_currencies[currency] += amount
            continue
        figures.days[period.day_of(at)].paid += amount
        figures.payments += 1
    refunds = select(RefundRow.created_at, RefundRow.currency, RefundRow.amount, RefundRow.status)
    refunds = refunds.where(RefundRow.created_at >= start, RefundRow.created_at < end)
    for at, currency, amount, status in session.execute(refunds):
        if currency != figures.currency:
            figures.other_currencies[currency] -= amount
            continue
        figures.days[period.day_of(at)].refunded += amount
        figures.refunds += 1
        figures.refunds_due += status == "due"


def _top(
    session: Session, currency: str, language: str, start: float, end: float, by: str
) -> list[Product]:
    quantity = func.sum(OrderLineRow.quantity).label("quantity")
    revenue = func.sum(OrderLineRow.line_total).label("revenue")
    query = (
        select(
            OrderLineRow.sku,
            func.max(OrderLineRow.name_es),
            func.max(OrderLineRow.name_en),
            quantity,
            revenue,
        )
        .join(OrderRow, OrderRow.id == OrderLineRow.order_id)
        .where(OrderRow.created_at >= start, OrderRow.created_at < end)
        .where(OrderRow.state.not_in([state.value for state in NOT_SOLD]))
        .where(OrderLineRow.currency == currency)
        .group_by(OrderLineRow.sku)
        .order_by((quantity if by == "quantity" else revenue).desc(), OrderLineRow.sku)
        .limit(TOP)
    )
    return [_product(row, language) for row in session.execute(query)]


def _product(row: Any, language: str) -> Product:
    sku, name_es, name_en, quantity, revenue = row
    name = name_en if language == "en" and name_en else name_es
    return Product(sku, name, int(quantity), int(revenue))
