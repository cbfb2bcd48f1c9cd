"""Receipts benchmark: what taking a receipt number in the payment's transaction costs.

Every payment then also locks the year's counter row until it commits, so payments recorded
at once queue on that lock. On PostgreSQL (a cluster of its own) THREADS threads record
PAYMENTS payments, first with receipts off (the baseline: the payment row and the order's
move), then on (the same plus the counter lock and the receipt row). Printed: payments per
second each way and their ratio, and that the numbers came out 1..PAYMENTS once each.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from core.catalogue.store import CatalogueStore
from core.db.engine import Database
from core.db.schema import migrate
from core.orders.model import Order
from core.orders.store import OrderStore
from core.payments.store import PaymentStore
from core.receipts.book import ReceiptBook, ReceiptPolicy
from tests.support.postgres import PostgresServer
from tests.support.receipts import PIZZA, awaiting, paid_for

PAYMENTS = 400
THREADS = 16


def _run(server: PostgresServer, receipts: bool) -> tuple[float, list[int]]:
    """Seconds to record PAYMENTS payments from THREADS threads; the receipt numbers."""
    db = Database(server.new_database(), pool_size=THREADS, max_overflow=0)
    migrate(db)
    CatalogueStore(db).replace_all([PIZZA])
    orders = OrderStore(db)
    book = ReceiptBook(db, ReceiptPolicy(Decimal(21), "Europe/Madrid")) if receipts else None
    payments = PaymentStore(orders, book)
    waiting: list[Order] = [awaiting(orders, 1, user=1000 + n) for n in range(PAYMENTS)]
    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda o: payments.record(paid_for(o, f"tg-{o.id}")), waiting))
    elapsed = time.perf_counter() - start
    numbers = sorted(r.seq for r in book.issued_between(0, 2e10)) if book else []
    db.dispose()
    return elapsed, numbers


def main() -> None:
    server = PostgresServer().start()
    try:
        _run(server, receipts=False)  # warm up the cluster
        off, _ = _run(server, receipts=False)
        on, numbers = _run(server, receipts=True)
    finally:
        server.stop()
    print(f"{PAYMENTS} payments from {THREADS} threads on PostgreSQL")
    print(f"  receipts off: {PAYMENTS / off:7.0f} payments/s (baseline)")
    print(f"  receipts on:  {PAYMENTS / on:7.0f} payments/s")
    print(f"  ratio (on / off time): {on / off:.2f}x")
    print(f"  numbers 1..{PAYMENTS} once each: {numbers == list(range(1, PAYMENTS + 1))}")


if __name__ == "__main__":
    main()
