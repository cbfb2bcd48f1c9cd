"""The catalogue in the system of record: products read for the menu and matching, replaced
whole by an import, edited by staff, and stock reserved and given back by conditional updates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.catalogue.product import Fulfilment, Product
from core.db.engine import Database
from core.db.shop import ProductRow


def to_product(row: ProductRow) -> Product:
    return Product(
        sku=row.sku,
        name_es=row.name_es,
        name_en=row.name_en,
        price=row.price,
        currency=row.currency,
        category=row.category,
        description=row.description,
        photo=row.photo,
        stock=row.stock,
        active=row.active,
        fulfilment=Fulfilment(row.fulfilment),
    )


def _row(product: Product, position: int, now: float) -> ProductRow:
    return ProductRow(
        sku=product.sku,
        name_es=product.name_es,
        name_en=product.name_en,
        description=product.description,
        category=product.category,
        price=product.price,
        currency=product.currency,
        photo=product.photo,
        stock=product.stock,
        active=product.active,
        fulfilment=product.fulfilment.value,
        position=position,
        updated_at=now,
    )


class OutOfStock(Exception):
    """A line asked for more than is left (or the product was withdrawn): nothing reserved."""

    def __init__(self, sku: str) -> None:
        super().__init__(sku)
        self.sku = sku


class CatalogueStore:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        # Bumped by every change made through this instance, so a cache in the same process
        # (the bot's matching index) knows at once; other processes' changes show in version().
        self.writes = 0

    # -- reading ----------------------------------------------------------------------------

    def count(self) -> int:
        with self.db.reading() as session:
            return int(session.scalar(select(func.count()).select_from(ProductRow)) or 0)

    def all(self, active_only: bool = False) -> list[Product]:
        query = select(ProductRow).order_by(ProductRow.position, ProductRow.sku)
        if active_only:
            query = query.where(ProductRow.active.is_(True))
        with self.db.reading() as session:
            return [to_product(row) for row in session.scalars(query)]

    def categories(self) -> list[str]:
        """Categories with something on sale, in the catalogue's order."""
        query = (
            select(ProductRow.category, func.min(ProductRow.position))
            .where(ProductRow.active.is_(True))
            .group_by(ProductRow.category)
            .order_by(func.min(ProductRow.position))
        )
        with self.db.reading() as session:
            return [category for category, _ in session.execute(query)]

    def in_category(
        self, category: str, offset: int = 0, limit: int | None = None
    ) -> list[Product]:
        """The category's products on sale, in the catalogue's order; `offset`/`limit` read
        one page of them (bench.menu: a page of a 200-product category is read in well
        under a millisecond, the whole category in several)."""
        query = (
            select(ProductRow)
            .where(ProductRow.category == category, ProductRow.active.is_(True))
            .order_by(ProductRow.position, ProductRow.sku)
            .offset(offset)
            .limit(limit)
        )
        with self.db.reading() as session:
            return [to_product(row) for row in session.scalars(query)]

    def get(self, sku: str) -> Product | None:
        with self.db.reading() as session:
            row = session.get(ProductRow, sku.upper())
            return to_product(row) if row else None

    def get_many(self, skus: Iterable[str]) -> dict[str, Product]:
        wanted = list({s.upper() for s in skus})
        if not wanted:
            return {}
        with self.db.reading() as session:
            rows = session.scalars(select(ProductRow).where(ProductRow.sku.in_(wanted)))
            return {row.sku: to_product(row) for row in rows}

    def version(self) -> float:
        """Changes when any product changes (a cached matching index is rebuilt then)."""
        query = select(func.max(ProductRow.updated_at), func.count())
        with self.db.reading() as session:
            latest, count = session.execute(query).one()
        return float(latest or 0) + int(count or 0) / 1e6

    # -- changing ---------------------------------------------------------------------------

    def replace_all(self, products: Sequence[Product]) -> None:
        """An import: the catalogue becomes exactly `products`, in one transaction. Products
        no longer listed are withdrawn (kept inactive: orders and carts still name them)."""
        self.writes += 1
        now = self.clock()
        listed = {p.sku for p in products}
        with self.db.transaction() as session:
            # Every row in one query first: a product already there is updated in the
            # session, a new one added, instead of merge() reading each alone (10,000
            # products: one query, not 10,000).
            # (Held here: the session keeps loaded rows only while something refers to them.)
            existing = {row.sku: row for row in session.scalars(select(ProductRow))}
            # One flush at the end (merge would flush before each row otherwise).
            with session.no_autoflush:
                for position, product in enumerate(products):
                    row = _row(product, position, now)
                    if product.sku in existing:
                        session.merge(row)
                    else:
                        session.add(row)
            session.execute(
                update(ProductRow)
                .where(ProductRow.sku.not_in(listed) if listed else ProductRow.sku.is_not(None))
                .values(active=False, updated_at=now)
                # The session ends here: nothing in it needs the new values.
                .execution_options(synchronize_session=False)
            )

    def set_price(self, sku: str, price: int) -> bool:
        return self._set(sku, price=price)

    def set_stock(self, sku: str, stock: int | None) -> bool:
        return self._set(sku, stock=stock)

    def _set(self, sku: str, **values: object) -> bool:
        self.writes += 1
        with self.db.transaction() as session:
            result = session.execute(
                update(ProductRow)
                .where(ProductRow.sku == sku.upper())
                .values(updated_at=self.clock(), **values)
            )
        return bool(getattr(result, "rowcount", 0))

    @staticmethod
    def reserve(session: Session, lines: Iterable[tuple[str, int]]) -> None:
        """In the order's transaction: take `quantity` of each SKU, or raise OutOfStock (and
        the transaction rolls back whole: nothing reserved)."""
        for sku, quantity in lines:
            taken = session.execute(
                update(ProductRow)
                .where(
                    ProductRow.sku == sku,
                    ProductRow.active.is_(True),
                    (ProductRow.stock.is_(None)) | (ProductRow.stock >= quantity),
                )
                .values(stock=ProductRow.stock - quantity)
                .execution_options(synchronize_session=False)
            )
            if not getattr(taken, "rowcount", 0):
                raise OutOfStock(sku)

    @staticmethod
    def release(session: Session, lines: Iterable[tuple[str, int]]) -> None:
        """In the transaction that cancels or fails an order: its units go back."""
        for sku, quantity in lines:
            session.execute(
                update(ProductRow)
                .where(ProductRow.sku == sku, ProductRow.stock.is_not(None))
                .values(stock=ProductRow.stock + quantity)
                .execution_options(synchronize_session=False)
            )

    def clear(self) -> None:
        self.writes += 1
        with self.db.transaction() as session:
            session.execute(delete(ProductRow))
