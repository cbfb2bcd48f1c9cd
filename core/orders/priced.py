"""Priced orders: an order made from a quote (core.orders.pricing) stores its lines and
amounts and reserves its stock in the same transaction; cancelling or failing it gives the
stock back in the transaction that changes its state."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import metrics
from core.catalogue.store import CatalogueStore
from core.db.models import OrderRow
from core.db.shop import OrderLineRow
from core.orders.model import Order
from core.orders.pricing import Quote
from core.orders.rows import customer, insert_order, remember_customer
from core.orders.states import OrderState
from core.orders.store import ID_ATTEMPTS, OrderStore, Placement


def place_priced(
    store: OrderStore,
    chat_id: int,
    user_id: int,
    quote: Quote,
    source: str,
    language: str,
    payment_method: str = "",
    awaiting_payment: bool = False,
    *,
    placed: Placement | None = None,
) -> tuple[Order, bool]:
    """Store the order of `quote` (its lines copied: a later price change never alters it)
    with its stock reserved; a second call from the same `source` returns the first order
    and False. Raises catalogue.store.OutOfStock, with nothing stored, when a line ran out.

    An order `awaiting_payment` (its invoice is about to be sent) is not queued: its chain
    starts when the payment is recorded (core.payments.store). `placed`: an order the staff
    place for the customer (core.orders.store.Placement: its source, author and first state
    win over `source` and `awaiting_payment`); only a `pendiente` one is queued."""
    first = OrderState.AWAITING_PAYMENT if awaiting_payment else OrderState.PENDIENTE
    how = placed or Placement(source, customer(user_id), first, payment_method)
    for _attempt in range(ID_ATTEMPTS):
        existing = store.by_source(how.source)
        if existing is not None:
            return existing, False
        order = store.new(chat_id, user_id, quote.text(), language)
        order.currency, order.subtotal = quote.currency, quote.subtotal
        order.delivery_fee, order.total = quote.delivery_fee, quote.total
        how.apply(order)
        try:
            with store.db.transaction() as session:
                insert_order(session, order, how.source, actor=how.actor)
                _add_lines(session, order.id, quote)
                CatalogueStore.reserve(session, [(ln.sku, ln.quantity) for ln in quote.lines])
                remember_customer(session, order)
            break
        except IntegrityError:
            continue
    else:
        raise RuntimeError(f"no order stored for {how.source} after {ID_ATTEMPTS} attempts")
    if store.starts is not None and order.state is OrderState.PENDIENTE:
        try:
            store.starts.add("order", order.id)
        except Exception:
            store.discard(order.id)  # gives its stock back (core.orders.store.discard)
            raise
    metrics.order_event("created")
    return order, True


def _add_lines(session: Session, order_id: str, quote: Quote) -> None:
    for position, line in enumerate(quote.lines):
        session.add(
            OrderLineRow(
                order_id=order_id,
                position=position,
                sku=line.sku,
                name_es=line.name_es,
                name_en=line.name_en,
                unit_price=line.unit_price,
                quantity=line.quantity,
                line_total=line.line_total,
                currency=line.currency,
                fulfilment=line.fulfilment,
            )
        )
    session.execute(
        update(OrderRow)
        .where(OrderRow.id == order_id)
        .values(stock_reserved=True)
        .execution_options(synchronize_session=False)
    )
