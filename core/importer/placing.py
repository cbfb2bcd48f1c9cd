"""An imported row placed through the chat's own order actions, one call per row.

Free text (no catalogue) goes through `OrderStore.create`, as `/pedido` does; with a catalogue
the row's text is matched and priced on the server and placed by `place_priced`, as a cart's
checkout does. Either way the history's author is the staff member who imported the file
(`staff:<id>`), the source is the row's identity (a second import of the row finds its first
order) and the order does not act for the customer: it waits in `por_confirmar` for the
customer's Confirmar, unless the row says it is paid in cash (`pago=efectivo`), which places
it `pendiente` like the chat's cash button.

Money is never taken from the file: amounts come from the catalogue, and a `total` column is
only compared with them (a row whose total differs is rejected, not charged either way).
"""

from __future__ import annotations

from dataclasses import dataclass

from core import money, texts
from core.catalogue.matching import CatalogueIndex
from core.catalogue.product import Product
from core.catalogue.store import CatalogueStore, OutOfStock
from core.importer.jobs import ImportJob, row_guard
from core.importer.rows import BadRow, GoodRow
from core.orders.model import Order
from core.orders.priced import place_priced
from core.orders.pricing import Quote, QuoteProblem, price
from core.orders.rows import Placement, staff
from core.orders.states import OrderState
from core.orders.store import GUARD_FIELD, OrderStore
from core.payments.methods import CASH
from core.quotes.amounts import parse_quote_amount
from core.quotes.store import payment_for

# Order.extra of an imported order: its job, its row in that job's file, and "1" when the
# row said it is paid in cash (placed at once: its customer is only told).
IMPORT_FIELD = "import"
ROW_FIELD = "import_row"
CASH_FIELD = "import_cash"


@dataclass(frozen=True)
class Shop:
    """What placing rows needs of the shop, read once per import run."""

    # None: the shop has no catalogue, rows are free text (no amount, nothing to invoice).
    index: CatalogueIndex | None
    products: dict[str, Product]
    methods: tuple[str, ...]
    min_order: int
    currency: str

    @classmethod
    def now(
        cls, catalogue: CatalogueStore, methods: tuple[str, ...], min_order: int, currency: str
    ) -> Shop:
        products = catalogue.all(True) if catalogue.version() else []
        index = CatalogueIndex(products) if products else None
        return cls(index, {p.sku: p for p in products}, methods, min_order, currency)


@dataclass(frozen=True)
class Placed:
    order: Order
    created: bool

    def first_import(self) -> tuple[str, int]:
        """The job and row that created the order (it may be an earlier file's)."""
        extra = self.order.extra
        if ROW_FIELD in extra:
            return extra.get(IMPORT_FIELD, ""), int(extra[ROW_FIELD])
        # Imported before the row was kept on its own: the guard held "order|job|row".
        _, job, row = (extra.get(GUARD_FIELD, "") or "||0").split("|")
        return job, int(row or 0)


def place_row(store: OrderStore, shop: Shop, job: ImportJob, row: GoodRow) -> Placed | BadRow:
    """The row's order (placed now, or found from an earlier import), or why not."""
    if row.cash and CASH not in shop.methods:
        return _bad(row, "cash_not_taken")
    if shop.index is None:
        placed = _placement(job, row, CASH if row.cash else "")
        order, created = store.create(
            row.chat_id, row.chat_id, row.text, 0, row.language, placed=placed
        )
        return Placed(order, created)
    found = _quote(shop, row, job.language)
    if isinstance(found, BadRow):
        return found
    method = CASH if row.cash else payment_for(shop.methods, found.currency)[0]
    try:
        order, created = place_priced(
            store,
            row.chat_id,
            row.chat_id,
            found,
            "",
            row.language,
            method,
            placed=_placement(job, row, method),
        )
    except OutOfStock as exc:
        return _bad(row, "not_sold", sku=exc.sku, why=_why("sold_out", job.language))
    return Placed(order, created)


def _placement(job: ImportJob, row: GoodRow, method: str) -> Placement:
    # A private chat's order is its user's: only they may confirm, pay or cancel it.
    return Placement(
        source=row_guard(row.key),
        actor=staff(job.user_id),
        state=OrderState.PENDIENTE if row.cash else OrderState.POR_CONFIRMAR,
        payment_method=method,
        extra=(
            (IMPORT_FIELD, job.id),
            (ROW_FIELD, str(row.number)),
            *([(CASH_FIELD, "1")] if row.cash else []),
        ),
    )


def _quote(shop: Shop, row: GoodRow, staff_language: str) -> Quote | BadRow:
    """The row's text matched and priced as the catalogue is now; every item must match."""
    assert shop.index is not None
    result = shop.index.match(row.text)
    if result.unmatched or result.truncated or not result.lines:
        items = ", ".join(item.text for item in result.unmatched) or row.text
        return _bad(row, "unmatched", items=items)
    wanted = [(line.product.sku, line.quantity) for line in result.lines]
    try:
        quotes = price(wanted, shop.products, shop.min_order, shop.currency)
    except QuoteProblem as exc:
        return _bad(row, "not_sold", sku=exc.sku or "-", why=_why(exc.code, staff_language))
    if len(quotes) != 1:
        return _bad(row, "currencies")
    found = quotes[0]
    if row.total:
        try:
            written = parse_quote_amount(row.total, found.currency)
        except money.MoneyError:
            return _bad(row, "bad_total", total=row.total)
        if written != found.total:
            shown = money.format_amount(found.total, found.currency, staff_language)
            return _bad(row, "total_differs", total=row.total, expected=shown)
    return found


def _why(code: str, language: str) -> str:
    """A QuoteProblem's code in the staff's words (the code itself when it has none)."""
    try:
        return texts.raw(language, f"import.why.{code}")
    except KeyError:
        return code


def _bad(row: GoodRow, reason: str, **values: object) -> BadRow:
    return BadRow(row.number, reason, list(row.original), tuple(values.items()))
