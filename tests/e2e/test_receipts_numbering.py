"""Receipt numbers under real concurrency on PostgreSQL: 50 payments recorded at once (the
bots' side, 50 connections) while two `celery worker` processes issue the corrective receipts
of 25 refunds (`reembolsar`) in the same sequence: every number from 1 to 75 once, none
skipped, each corrective after its original."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from celery import Celery
from sqlalchemy import select

from core.catalogue.store import CatalogueStore
from core.db.engine import Database
from core.db.receipts import ReceiptRow
from core.orders.model import Order
from core.orders.states import OrderState
from core.orders.store import OrderStore
from core.payments.store import PaymentStore
from core.receipts.book import ReceiptBook, ReceiptPolicy
from sandbox import RunningSandbox
from tests.support.postgres import PostgresServer
from tests.support.processes import wait_until
from tests.support.receipts import PIZZA, awaiting, paid_for
from tests.support.system import System, running_system

ORDERS = 50
REFUNDED = 25
ZONE = "Europe/Madrid"


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory,
    sandbox_server: RunningSandbox,
    postgres_server: PostgresServer,
) -> Iterator[System]:
    """PostgreSQL, Redis and two workers (no bot: the test records the payments itself)."""
    tmp = tmp_path_factory.mktemp("receipt-numbers")
    with running_system(
        tmp,
        sandbox_server.url,
        sandbox_server.token,
        DATABASE_URL=postgres_server.new_database(),
        SHOP_NAME="Pizzería Ñandú",
        SHOP_TAX_ID="B12345678",
        SHOP_TIMEZONE=ZONE,
    ) as running:
        starting = [threading.Thread(target=running.start_worker) for _ in range(2)]
        for thread in starting:
            thread.start()
        for thread in starting:
            thread.join()
        assert sum(p.running for p in running.processes) == 2, running.all_logs()
        yield running


def receipts(db: Database) -> list[ReceiptRow]:
    with db.reading() as session:
        return list(session.scalars(select(ReceiptRow).order_by(ReceiptRow.seq)))


def test_payments_and_refunds_at_once_share_one_gapless_sequence(system: System) -> None:
    db = Database(system.db.url, pool_size=ORDERS, max_overflow=0)
    CatalogueStore(db).replace_all([PIZZA])
    orders = OrderStore(db)
    payments = PaymentStore(orders, ReceiptBook(db, ReceiptPolicy(Decimal(21), ZONE)))
    waiting: list[Order] = []
    for n in range(ORDERS):
        chat = system.private_chat()  # a real chat, where the refund and receipt are sent
        waiting.append(awaiting(orders, 1 + n % 3, user=chat.chat_id))

    def pay(order: Order) -> int:
        return payments.record(paid_for(order, f"tg-{order.id}")).receipt_id

    first, second = waiting[:REFUNDED], waiting[REFUNDED:]
    with ThreadPoolExecutor(ORDERS) as pool:
        assert all(pool.map(pay, first))
        for order in first:
            orders.move(order.id, OrderState.CANCELADO)
        # The workers refund the first half while the second half is being paid.
        queue = Celery("receipt-tests", broker=system.redis.url)
        for order in first:
            queue.send_task("reembolsar", args=[order.id, "cancelado"], queue="orders")
        assert all(pool.map(pay, second))
        queue.close()

    total = ORDERS + REFUNDED
    wait_until(lambda: len(receipts(db)) == total, 60, "every corrective receipt")
    issued = receipts(db)
    assert [r.seq for r in issued] == list(range(1, total + 1))
    assert len({r.number for r in issued}) == total
    by_id = {r.id: r for r in issued}
    correctives = [r for r in issued if r.kind == "rectificativa"]
    assert len(correctives) == REFUNDED
    assert {r.order_id for r in correctives} == {o.id for o in first}
    for corrective in correctives:
        assert corrective.corrects_id is not None
        original = by_id[corrective.corrects_id]
        assert original.order_id == corrective.order_id and corrective.seq > original.seq
        assert corrective.total == -original.total
    # Both workers issued some (the sequence was shared across processes, not one's own).
    logs = [p.log() for p in system.processes if p.name.startswith("worker")]
    assert all("refund due recorded" in log for log in logs), "one worker did every refund"
    db.dispose()
