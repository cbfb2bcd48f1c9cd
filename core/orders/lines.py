"""An order's priced lines, read back, and its reserved stock given back."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.catalogue.store import CatalogueStore
from core.db.models import OrderRow
from core.db.shop import OrderLineRow
from core.orders.pricing import PricedLine


def lines_of(session: Session, order_id: str) -> list[PricedLine]:
    rows = session.scalars(
        select(OrderLineRow)
        .where(OrderLineRow.order_id == order_id)
        .order_by(OrderLineRow.position)
    )
    return [
        PricedLine(
            sku=r.sku,
            name_es=r.name_es,
            name_en=r.name_en,
            unit_price=r.unit_price,
            quantity=r.quantity,
            line_total=r.line_total,
            currency=r.currency,
            fulfilment=r.fulfilment,
        )
        for r in rows
    ]


def release_stock(session: Session, order_id: str) -> None:
    """In the transaction that cancels, fails or discards the order: its reserved units go
    back, once (the flag is cleared by the same conditional update)."""
    held = session.execute(
        update(OrderRow)
        .where(OrderRow.id == order_id, OrderRow.stock_reserved.is_(True))
        .values(stock_reserved=False)
        .execution_options(synchronize_session=False)
    )
    if getattr(held, "rowcount", 0):
        lines = lines_of(session, order_id)
        CatalogueStore.release(session, [(ln.sku, ln.quantity) for ln in lines])
