"""The stale-order watcher on the real system of record (SQLite and PostgreSQL) and a real
redis-server: claims, concurrency, retried runs."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
import redis
from sqlalchemy import delete, update

from core.db.engine import Database
from core.db.models import OrderRow
from core.db.watcher import WatcherRunRow
from core.orders.fulfilment import Fulfilment
from core.orders.payment import PaymentClient
from core.orders.states import STEPS, OrderState
from core.orders.store import OrderStore
from core.telegram.client import TransientError
from core.telegram.courier import Courier
from core.watcher.from_redis import OLD_PENDING_KEY, copy_pending_runs
from core.watcher.index import StaleIndex
from core.watcher.watch import ADOPT_AFTER, LIST_LIMIT, Watcher, stale_list

DAY = 24 * 3600.0
T0 = 1_700_000_000.0
ADMIN = 900


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Messenger:
    """Like the courier: once per key (thread-safe); can fail like Telegram after n sends."""

    fail_after: int | None = None
    by_key: dict[str, tuple[int, str]] = field(default_factory=dict)
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, chat_id: int, text: str, *, key: str, **_: Any) -> int | None:
        with self.lock:
            if key in self.by_key:
                return 1
            if self.fail_after is not None and self.calls >= self.fail_after:
                raise TransientError("sendMessage", 502, "Bad Gateway")
            self.calls += 1
            self.by_key[key] = (chat_id, text)
            return self.calls

    def edit(self, chat_id: int, message_id: int, text: str, **_: Any) -> int | None:
        return message_id

    def alerted(self) -> list[str]:
        return sorted(k.split(":")[1] for k in self.by_key if k.endswith(":stale"))

    def digests(self) -> list[str]:
        return [text for key, (_, text) in self.by_key.items() if key.startswith("digest:")]


@pytest.fixture
def clock() -> Clock:
    return Clock()


# The watcher's run history is in Redis: the test's redis-server (set by the `store` fixture).
REDIS: list[redis.Redis] = []


@pytest.fixture
def store(database_url: str, redis_url: str, clock: Clock) -> Iterator[OrderStore]:
    db = Database(database_url)
    REDIS[:] = [redis.Redis.from_url(redis_url, decode_responses=True)]
    yield OrderStore(db, clock=clock)
    db.dispose()


@pytest.fixture
def index(store: OrderStore) -> StaleIndex:
    return StaleIndex(store, REDIS[0])


def make_watcher(
    store: OrderStore, messenger: Messenger, clock: Callable[[], float], **kwargs: Any
) -> Watcher:
    return Watcher(
        store=store,
        index=StaleIndex(store, REDIS[0]),
        messenger=messenger,
        admin_chat_ids=(ADMIN,),
        stale_after=DAY,
        clock=clock,
        **kwargs,
    )


def place(store: OrderStore, clock: Clock, at: float, n: int = 1, chat_id: int = 10) -> list[str]:
    """`n` orders created at time `at` (the clock is put back afterwards)."""
    now, clock.now = clock.now, at
    ids = [store.create(chat_id + i, chat_id + i, "pizza", i)[0].id for i in range(n)]
    clock.now = now
    return ids


def complete(store: OrderStore, order_id: str) -> None:
    for state in (*STEPS, OrderState.COMPLETADO):
        store.move(order_id, state)


def test_only_orders_past_stale_after_are_alerted(store: OrderStore, clock: Clock) -> None:
    [stale] = place(store, clock, T0 - DAY)
    [almost] = place(store, clock, T0 - DAY + 0.5, chat_id=20)
    [finished] = place(store, clock, T0 - 3 * DAY, chat_id=30)
    complete(store, finished)
    messenger = Messenger()

    report = make_watcher(store, messenger, clock).run("run-1")

    assert report.claimed == 1
    assert messenger.alerted() == [stale]
    [digest] = messenger.digests()
    assert stale in digest and almost not in digest and finished not in digest

    clock.now += 0.5
    make_watcher(store, messenger, clock).run("run-2")
    assert messenger.alerted() == sorted([stale, almost])
    clock.now += 10 * DAY
    assert make_watcher(store, messenger, clock).run("run-3").claimed == 0
    assert finished not in messenger.alerted()


def test_orders_waiting_on_their_customer_are_not_stale(store: OrderStore, clock: Clock) -> None:
    """An imported offer not yet confirmed, an invoice not yet paid: nothing is stuck in the
    shop, so neither the customer nor the admins hear of it (their own lapse ends them)."""
    offer, unpaid, stuck = place(store, clock, T0 - 2 * DAY, n=3)
    with store.db.transaction() as session:
        for order_id, state in (
            (offer, OrderState.POR_CONFIRMAR),
            (unpaid, OrderState.AWAITING_PAYMENT),
        ):
            session.execute(
                update(OrderRow).where(OrderRow.id == order_id).values(state=state.value)
            )
    messenger = Messenger()

    report = make_watcher(store, messenger, clock).run("run-1")

    assert report.claimed == 1 and messenger.alerted() == [stuck]
    assert [o.id for o in StaleIndex(store, REDIS[0]).stale_now(T0 - DAY, 10)[1]] == [stuck]


def test_alerted_order_is_not_claimed_again_and_is_not_stale_once_done(
    store: OrderStore, clock: Clock, index: StaleIndex
) -> None:
    [order_id] = place(store, clock, T0 - 2 * DAY)
    make_watcher(store, Messenger(), clock).run("run-1")
    assert store.get(order_id).stale_alerted_at == clock.now
    assert make_watcher(store, Messenger(), clock).run("run-2").claimed == 0
    assert index.stale_now(clock.now - DAY, 10)[0] == 1

    store.move(order_id, OrderState.CANCELADO)
    assert index.stale_now(clock.now - DAY, 10) == (0, [])


def test_concurrent_runs_alert_each_order_exactly_once(store: OrderStore, clock: Clock) -> None:
    ids = place(store, clock, T0 - 2 * DAY, n=300)
    messenger = Messenger()

    def run(n: int) -> int:
        return make_watcher(store, messenger, clock, max_per_run=40).run(f"run-{n}").claimed

    with ThreadPoolExecutor(8) as pool:
        claimed = list(pool.map(run, range(16)))

    assert sum(claimed) == 300
    assert messenger.alerted() == sorted(ids)
    listed = Counter(i for digest in messenger.digests() for i in ids if i in digest)
    assert listed == Counter(ids)  # each order in exactly one run's digest


def test_a_retried_run_resends_its_own_orders_once_and_claims_no_new_ones(
    store: OrderStore, clock: Clock
) -> None:
    first = place(store, clock, T0 - 2 * DAY, n=5)
    messenger = Messenger(fail_after=3)  # the digest and two alerts, then Telegram fails
    with pytest.raises(TransientError):
        make_watcher(store, messenger, clock).run("task-1")
    later = place(store, clock, T0 - 2 * DAY, n=2, chat_id=50)

    messenger.fail_after = None
    report = make_watcher(store, messenger, clock).run("task-1")  # Celery's retry: same id

    assert report.resumed and report.claimed == 5
    assert messenger.alerted() == sorted(first)
    assert len(messenger.digests()) == 1
    assert make_watcher(store, messenger, clock).run("task-2").claimed == 2
    assert messenger.alerted() == sorted(first + later)


def test_claims_of_a_run_that_died_are_taken_over_later(
    store: OrderStore, clock: Clock, index: StaleIndex
) -> None:
    ids = place(store, clock, T0 - 2 * DAY, n=3)
    # A run claimed, then its worker was killed (its message expired: no retry comes).
    index.claim("dead", clock.now - DAY, 100, clock.now, adopt_before=0)
    messenger = Messenger()

    clock.now += 60  # too early: the dead run might still be running
    assert make_watcher(store, messenger, clock).run("run-2").claimed == 0
    clock.now += ADOPT_AFTER
    report = make_watcher(store, messenger, clock).run("run-3")

    assert report.claimed == 3 and messenger.alerted() == sorted(ids)
    # The dead run's message, delivered after all, finds nothing of its own to resend.
    assert make_watcher(store, messenger, clock).run("dead").claimed == 0


def test_claims_of_a_run_that_died_survive_the_loss_of_redis(
    store: OrderStore, clock: Clock, index: StaleIndex
) -> None:
    ids = place(store, clock, T0 - 2 * DAY, n=3)
    index.claim("dead", clock.now - DAY, 100, clock.now, adopt_before=0)
    # Redis comes back empty (a FLUSHALL, a failover that lost the last writes).
    REDIS[0].flushall()
    messenger = Messenger()

    clock.now += 60 + ADOPT_AFTER
    report = make_watcher(store, messenger, clock).run("run-2")

    assert report.claimed == 3 and messenger.alerted() == sorted(ids)
    assert len(messenger.digests()) == 1


def test_a_run_left_pending_in_redis_by_the_old_version_is_copied_once_and_taken_over(
    store: OrderStore, clock: Clock, index: StaleIndex
) -> None:
    """`make migrate-redis`: the Redis era's pending runs reach `watcher_runs` (0010)."""
    ids = place(store, clock, T0 - 2 * DAY, n=2)
    index.claim("old-run", clock.now - DAY, 100, clock.now, adopt_before=0)
    with store.db.transaction() as session:  # the old version kept no row of its runs
        session.execute(delete(WatcherRunRow))
    REDIS[0].zadd(OLD_PENDING_KEY, {"old-run": clock.now})

    assert copy_pending_runs(REDIS[0], store.db) == 1
    assert copy_pending_runs(REDIS[0], store.db) == 0  # run again: nothing twice

    messenger = Messenger()
    clock.now += 60 + ADOPT_AFTER
    assert make_watcher(store, messenger, clock).run("new-run").claimed == 2
    assert messenger.alerted() == sorted(ids)


def test_a_backlog_is_worked_off_in_bounded_runs(store: OrderStore, clock: Clock) -> None:
    place(store, clock, T0 - 2 * DAY, n=5)
    watcher = make_watcher(store, Messenger(), clock, max_per_run=2)
    reports = [watcher.run(f"run-{n}") for n in range(3)]
    assert [(r.claimed, r.more) for r in reports] == [(2, True), (2, True), (1, False)]


def test_a_run_that_takes_the_last_stale_orders_says_none_are_left(
    store: OrderStore, clock: Clock
) -> None:
    place(store, clock, T0 - 2 * DAY, n=4)
    watcher = make_watcher(store, Messenger(), clock, max_per_run=2)
    reports = [watcher.run(f"run-{n}") for n in range(3)]
    assert [(r.claimed, r.more) for r in reports] == [(2, True), (2, False), (0, False)]


def test_an_alerted_order_that_completes_gets_the_ready_follow_up_once(
    store: OrderStore, clock: Clock
) -> None:
    [alerted] = place(store, clock, T0 - 2 * DAY)
    [fresh] = place(store, clock, T0 - 60, chat_id=20)
    messenger = Messenger()
    make_watcher(store, messenger, clock).run("run-1")
    fulfilment = Fulfilment(
        store=store,
        courier=cast(Courier, messenger),
        payment=PaymentClient("", 1.0),
        step_seconds=0,
    )

    for order_id in (alerted, fresh):
        for step in (fulfilment.validar_pago, fulfilment.preparar_envio):
            step(order_id, lambda *_: None)
        for _ in range(2):  # the last step retried: still one follow-up
            fulfilment.notificar_cliente(order_id, lambda *_: None)

    ready = [k for k in messenger.by_key if k.endswith(":ready_after_alert")]
    assert ready == [f"order:{alerted}:ready_after_alert"]
    assert "ya está listo" in messenger.by_key[ready[0]][1]
    assert store.stale(clock.now - DAY, 10) == (0, [])


def test_an_order_completing_between_claim_and_alert_gets_the_follow_up_not_the_alert(
    store: OrderStore, clock: Clock, index: StaleIndex
) -> None:
    [order_id] = place(store, clock, T0 - 2 * DAY)
    index.claim("run-1", clock.now - DAY, 10, clock.now, adopt_before=0)
    messenger = Messenger()
    fulfilment = Fulfilment(
        store=store,
        courier=cast(Courier, messenger),
        payment=PaymentClient("", 1.0),
        step_seconds=0,
    )
    for step in (fulfilment.validar_pago, fulfilment.preparar_envio, fulfilment.notificar_cliente):
        step(order_id, lambda *_: None)

    make_watcher(store, messenger, clock).run("run-1")  # the claiming run goes on

    assert messenger.alerted() == []
    assert f"order:{order_id}:ready_after_alert" in messenger.by_key


def test_a_retried_step_leaves_its_error_for_the_digest(store: OrderStore, clock: Clock) -> None:
    [order_id] = place(store, clock, T0 - 2 * DAY)
    store.note_error(order_id, "PaymentUnavailable: HTTP 503")
    store.note_error("P-ZZZZZZ", "no such order")
    messenger = Messenger()

    make_watcher(store, messenger, clock).run("run-1")

    assert "PaymentUnavailable: HTTP 503" in messenger.digests()[0]
    assert store.state_of("P-ZZZZZZ") is None


def test_the_admin_list_shows_alerted_and_not_yet_alerted_orders(
    store: OrderStore, clock: Clock, index: StaleIndex
) -> None:
    assert "No hay pedidos atrasados" in stale_list(index, DAY, clock.now, "es")
    assert "aún no se ha ejecutado" in stale_list(index, DAY, clock.now, "es")
    alerted = place(store, clock, T0 - 3 * DAY, n=LIST_LIMIT)
    make_watcher(store, Messenger(), clock).run("run-1")
    waiting = place(store, clock, T0 - 2 * DAY, n=5, chat_id=100)
    place(store, clock, T0 - 60, chat_id=200)  # not stale

    clock.now += 120
    shown = stale_list(index, DAY, clock.now, "es")

    assert f"(más de 24 h): {LIST_LIMIT + 5}" in shown
    assert all(i in shown for i in alerted)  # the oldest first
    assert not any(i in shown for i in waiting)
    assert "… y 5 más." in shown
    assert "Última revisión: hace 2 min." in shown
