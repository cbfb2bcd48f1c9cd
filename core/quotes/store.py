"""Quote requests in the system of record: the order waiting in por_cotizar with its card,
and pricing it — once, whoever answers first — into one priced line, in one transaction.

Pricing moves the order on as the shop takes money: to esperando_pago when its invoice is
about to be sent (the chain starts when it is paid), or to pendiente (cash, or a shop
without payments) when its chain starts now."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import metrics
from core.db.models import OrderRow
from core.db.relay import QuoteRequestRow
from core.db.shop import OrderLineRow
from core.orders.model import Order
from core.orders.rows import customer, insert_order, remember_customer, staff, telegram_source
from core.orders.states import OrderState
from core.orders.store import ID_ATTEMPTS, OrderStore
from core.payments.methods import CASH, invoice_method, takes_invoices

# The priced line of a quote: no catalogue product stands behind it (no stock to hold); it
# is named by what the customer asked for, cut to a line's length.
QUOTE_SKU = ""
LINE_NAME_MAX = 80


def payment_for(methods: tuple[str, ...], currency: str) -> tuple[str, bool]:
    """How a priced quote is paid, as the shop takes money: (method, invoiced). An invoice
    when the shop takes Telegram payments in that currency, else cash when it takes cash,
    else "" (sin cobro); only an invoiced order waits for its payment."""
    if takes_invoices(methods) and invoice_method(currency) in methods:
        return invoice_method(currency), True
    if CASH in methods:
        return CASH, False
    return "", False


def line_name(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= LINE_NAME_MAX else flat[: LINE_NAME_MAX - 1] + "…"


@dataclass(frozen=True)
class QuoteRequest:
    order_id: str
    chat_id: int
    message_id: int
    prompt_message_id: int
    quoted_by: int
    amount: int


@dataclass(frozen=True)
class Pricing:
    """What pricing did: `priced` for this answer; else who priced it before (`by`)."""

    priced: bool
    order: Order
    by: int
    amount: int


class _NotPriced(Exception):
    """The order left por_cotizar before its price came: the transaction is rolled back."""


def _request(row: QuoteRequestRow) -> QuoteRequest:
    return QuoteRequest(
        row.order_id, row.chat_id, row.message_id, row.prompt_message_id, row.quoted_by, row.amount
    )


class Quotes:
    """Quote requests, on the order store's database."""

    def __init__(self, orders: OrderStore) -> None:
        self.orders = orders
        self.db = orders.db

    def request(
        self, chat_id: int, user_id: int, text: str, source_message_id: int, language: str
    ) -> tuple[Order, bool]:
        """Store an order to be priced (por_cotizar) and its request; a re-delivered message
        returns the first order and False. Nothing is queued: no chain runs before a price."""
        source = telegram_source(chat_id, source_message_id)
        for _attempt in range(ID_ATTEMPTS):
            existing = self.orders.by_source(source)
            if existing is not None:
                return existing, False
            order = self.orders.new(chat_id, user_id, text, language)
            order.state = OrderState.POR_COTIZAR
            try:
                with self.db.transaction() as session:
                    insert_order(session, order, source, actor=customer(user_id))
                    remember_customer(session, order)
                    session.add(QuoteRequestRow(order_id=order.id, created_at=order.created_at))
                break
            except IntegrityError:
                continue
        else:
            raise RuntimeError(f"no quote request stored for {source}")
        metrics.order_event("created")
        return order, True

    def get(self, order_id: str) -> QuoteRequest | None:
        with self.db.reading() as session:
            row = session.get(QuoteRequestRow, order_id)
            return _request(row) if row is not None else None

    def posted(self, order_id: str, **messages: int) -> None:
        """Record the card's (chat_id, message_id) or the price question's prompt_message_id."""
        with self.db.transaction() as session:
            session.execute(
                update(QuoteRequestRow)
                .where(QuoteRequestRow.order_id == order_id)
                .values(**messages)
                .execution_options(synchronize_session=False)
            )

    def of_message(self, chat_id: int, message_id: int) -> QuoteRequest | None:
        """The request whose card, or price question, is this message."""
        with self.db.reading() as session:
            row = session.scalar(
                select(QuoteRequestRow).where(
                    QuoteRequestRow.chat_id == chat_id,
                    or_(
                        QuoteRequestRow.message_id == message_id,
                        QuoteRequestRow.prompt_message_id == message_id,
                    ),
                )
            )
            return _request(row) if row is not None else None

    def price(
        self,
        order_id: str,
        amount: int,
        currency: str,
        staff_user: int,
        method: str,
        invoiced: bool,
    ) -> Pricing:
        """Price the order once: its one line and amounts, how it is paid, and its move to
        esperando_pago (`invoiced`) or pendiente, with the staff member in its history. A
        second answer (another staff member, the same update again) changes nothing."""
        now = self.orders.clock()
        wanted = OrderState.AWAITING_PAYMENT if invoiced else OrderState.PENDIENTE
        moved = False
        try:
            with self.db.transaction() as session:
                taken = session.execute(
                    update(QuoteRequestRow)
                    .where(QuoteRequestRow.order_id == order_id, QuoteRequestRow.quoted_by == 0)
                    .values(quoted_by=staff_user, quoted_at=now, amount=amount)
                    .execution_options(synchronize_session=False)
                )
                if getattr(taken, "rowcount", 0):
                    note = f"presupuesto {amount} {currency}"
                    if not self.orders.transition(
                        session, order_id, wanted, staff(staff_user), note
                    ):
                        # Cancelled by the customer meanwhile: the request stays unpriced.
                        raise _NotPriced
                    text = session.scalar(select(OrderRow.text).where(OrderRow.id == order_id))
                    name = line_name(text or "")
                    self._priced_line(session, order_id, name, amount, currency, method)
                    moved = True
        except _NotPriced:
            moved = False
        if moved and not invoiced and self.orders.starts is not None:
            self.orders.starts.add("order", order_id)
        request = self.get(order_id)
        order = self.orders.get(order_id)
        by = request.quoted_by if request else 0
        return Pricing(moved, order, by, request.amount if request else 0)

    @staticmethod
    def _priced_line(
        session: Session, order_id: str, name: str, amount: int, currency: str, method: str
    ) -> None:
        session.add(
            OrderLineRow(
                order_id=order_id,
                position=0,
                sku=QUOTE_SKU,
                name_es=name,
                name_en=name,
                unit_price=amount,
                quantity=1,
                line_total=amount,
                currency=currency,
                fulfilment="manual",
            )
        )
        # stock_reserved: the pre-checkout check wants an order with lines to hold its stock;
        # a quote holds none, and giving it back (core.orders.lines) finds no product.
        session.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id)
            .values(
                currency=currency,
                subtotal=amount,
                total=amount,
                payment_method=method,
                stock_reserved=True,
            )
            .execution_options(synchronize_session=False)
        )
