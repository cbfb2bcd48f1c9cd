"""The watcher's Celery side against a real redis-server: the task names its run by its id,
and a retried order step leaves its error on the order for the digest."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from celery.app.task import Context
from celery.exceptions import Retry
from celery.signals import task_retry
from sqlalchemy import select

from core.db.engine import Database
from core.db.models import OrderRow
from core.orders.payment import PaymentUnavailable
from core.orders.store import LAST_ERROR_FIELD, OrderStore
from core.watcher.alerts import StaleAlert
from core.watcher.index import StaleIndex
from core.watcher.watch import Watcher
from tasks import context as ctx
from tasks import delivery
from tasks.orders import validar_pago
from tasks.watcher import CeleryOutbox, avisar_atrasados, revisar_pedidos_atrasados


class Messenger:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def send(self, chat_id: int, text: str, *, key: str, **_: Any) -> int | None:
        self.keys.append(key)
        return len(self.keys)


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


@pytest.fixture
def store(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> OrderStore:
    store = OrderStore(sqlite_db)
    monkeypatch.setattr(ctx, "store", lambda: store)
    return store


def test_a_retried_order_step_leaves_its_error_on_the_order(store: OrderStore) -> None:
    order, _ = store.create(chat_id=10, user_id=10, text="pizza", source_message_id=1)

    retry = Retry(exc=PaymentUnavailable("HTTP 503"))
    task_retry.send(sender=validar_pago, request=Context(args=[order.id]), reason=retry)

    assert store.get(order.id).extra[LAST_ERROR_FIELD] == "PaymentUnavailable: HTTP 503"


def test_other_tasks_retries_leave_orders_alone(store: OrderStore) -> None:
    order, _ = store.create(chat_id=10, user_id=10, text="pizza", source_message_id=1)

    retry = Retry(exc=RuntimeError("boom"))
    task_retry.send(
        sender=revisar_pedidos_atrasados, request=Context(args=[order.id]), reason=retry
    )

    assert LAST_ERROR_FIELD not in store.get(order.id).extra


def test_the_task_runs_the_watcher_under_its_own_id(
    store: OrderStore, client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.clock = lambda: 1_000.0
    order, _ = store.create(chat_id=10, user_id=10, text="pizza", source_message_id=1)
    messenger = Messenger()
    watcher = Watcher(
        store=store,
        index=StaleIndex(store, client),
        messenger=messenger,
        admin_chat_ids=(),
        stale_after=60,
        clock=lambda: 2_000.0,
    )
    monkeypatch.setattr(ctx, "watcher", lambda: watcher)

    result = revisar_pedidos_atrasados.apply(task_id="run-from-beat")

    assert result.get()["claimed"] == 1 and result.get()["run_id"] == "run-from-beat"
    assert messenger.keys == [f"order:{order.id}:stale"]
    # The run's claim is under its task id: a retry of the task finds its orders by it.
    with store.db.reading() as session:
        run = session.scalar(select(OrderRow.stale_run).where(OrderRow.id == order.id))
    assert run == "run-from-beat"


def test_a_runs_alerts_are_handed_over_a_hundred_to_a_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    published: list[tuple[Any, ...]] = []
    monkeypatch.setattr(avisar_atrasados, "apply_async", lambda args, **_: published.append(args))
    alerts = [StaleAlert(f"P-{n:06d}", 1_000 + n, f"alerta {n}") for n in range(250)]

    CeleryOutbox().hand_over("run-7", alerts)

    assert [(run, part, len(batch)) for run, part, batch in published] == [
        ("run-7", 0, 100),
        ("run-7", 1, 100),
        ("run-7", 2, 50),
    ]
    assert [StaleAlert.from_dict(a) for _, _, batch in published for a in batch] == alerts


def test_a_batch_task_sends_its_alerts_once_each(
    store: OrderStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    order, _ = store.create(chat_id=10, user_id=10, text="pizza", source_message_id=1)
    messenger = Messenger()
    monkeypatch.setattr(delivery, "courier", lambda: messenger)
    batch = [StaleAlert(order.id, 10, "⏳").to_dict()]

    assert avisar_atrasados.apply(("run-1", 0, batch)).get() == 1
    assert messenger.keys == [f"order:{order.id}:stale"]
