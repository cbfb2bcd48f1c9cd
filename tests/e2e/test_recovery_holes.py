"""Work no lease covered, and a killed worker took with it until VISIBILITY_TIMEOUT (1 h): with
the default settings (TASK_LEASE 15 s) it now finishes, once, within two minutes.

- Orders a worker had prefetched (taken from Redis, not started), even when the worker that
  took over dies holding them and the recovered copy of the one that was running.
- A failed order whose worker dies in the error callback (`registrar_fallo`), before the failure
  is queued: the chat still hears it, once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from core.orders.states import OrderState
from sandbox import RunningSandbox
from sandbox.client import Chat
from tests.e2e.test_order_faults import failed
from tests.e2e.test_orders import completed, is_status, order_id_of
from tests.e2e.test_recovery import RECOVERY_BUDGET, count, kill_group, settled, stop_workers
from tests.support.faulty_system import bot_with_payments
from tests.support.payment import PaymentService
from tests.support.processes import Process, wait_until
from tests.support.system import System

ORDERS = 4
# One pool process taking several messages ahead of the one it runs (Celery's default
# multiplier is 4; ours is 1, and a deployment may raise it).
PREFETCHING = ("--prefetch-multiplier=8",)


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory,
    sandbox_server: RunningSandbox,
    payments: PaymentService,
) -> Iterator[System]:
    with bot_with_payments(tmp_path_factory.mktemp("holes"), sandbox_server, payments) as running:
        # Recovery runs on the defaults: no lease, sweep or visibility setting is changed.
        assert not {"VISIBILITY_TIMEOUT", "TASK_LEASE", "SWEEP_INTERVAL"} & set(running.env)
        yield running


def holding_everything(system: System, worker: Process, since: float) -> bool:
    """The worker took every order's message (one runs, the rest wait in its memory), and no
    message is still held from before `since` (by a worker that died then)."""
    store = system.client
    taken_before = store.zrangebyscore("unacked_index", "-inf", since)
    held = store.hlen("unacked") >= ORDERS and not taken_before
    return held and not store.llen("orders") and worker.running


def running(chats: list[Chat]) -> int:
    """How many of the chats' orders show their first step under way."""
    shown = [m.text or "" for chat in chats for m in chat.bot_messages() if is_status(m)]
    return sum(1 for text in shown if "validando pago" in text)


def test_prefetched_orders_of_killed_workers_finish_once(system: System) -> None:
    store = system.client
    first = system.start_worker("orders", 1, PREFETCHING, STEP_SECONDS="60")
    chats: list[Chat] = [system.private_chat() for _ in range(ORDERS)]
    for n, chat in enumerate(chats, start=1):
        chat.send(f"/pedido {n} empanadas")
    order_ids = [order_id_of(chat.wait_for(is_status, timeout=30)) for chat in chats]
    wait_until(lambda: holding_everything(system, first, since=0), 30, "all prefetched")
    wait_until(lambda: running(chats) == 1, 30, "one order running")

    # The worker dies with one order running and three taken but not started.
    killed_at, killed_on = kill_group(first), time.time()
    # The next worker takes over and prefetches all of it, the recovered copy of the running
    # order among it, and dies in turn before finishing any.
    second = system.start_worker("orders", 1, PREFETCHING, STEP_SECONDS="60")
    # The running order's lease expired (a recovered copy is sent under a new id), or its own
    # message, given back, started again first (a crashed run): either way, then all is taken.
    logs = system.all_logs
    retaken = ("sent again as", "runs again after 1 crashed runs")
    wait_until(lambda: any(line in logs() for line in retaken), 60, "the running order back")
    wait_until(lambda: holding_everything(system, second, killed_on), 60, "all taken again")
    assert not any(completed(m) for chat in chats for m in chat.bot_messages())
    kill_group(second)

    system.start_worker()
    for chat in chats:
        chat.wait_for(completed, timeout=max(1.0, killed_at + RECOVERY_BUDGET - time.monotonic()))
    assert time.monotonic() - killed_at < RECOVERY_BUDGET
    assert [system.store.state_of(o) for o in order_ids] == [OrderState.COMPLETADO] * ORDERS

    # Nothing is left for Redis to give back an hour later: the dead workers' messages went
    # back to the queue at once, and every copy ran or stood down.
    wait_until(lambda: settled(store), 60, "the queues to drain")
    assert store.hlen("unacked") == 0
    assert [count(chat, completed) for chat in chats] == [1] * ORDERS


def test_a_worker_dying_as_an_order_fails_still_tells_the_chat_once(
    system: System, payments: PaymentService
) -> None:
    stop_workers(system)
    # The payment service says no, and says it again to the same idempotency key.
    payments.answer(402, {"reason": "fondos insuficientes"}, times=2)
    doomed = system.start_worker("orders", 1, ("--include=tests.support.dies_failing",))
    chat = system.private_chat()
    chat.send("/pedido 1 tarta")
    order_id = order_id_of(chat.wait_for(is_status, timeout=30))
    wait_until(lambda: not doomed.running, 30, "the worker to die in the error callback")
    died_at = time.monotonic()

    system.start_worker()
    told = chat.wait_for(failed, timeout=RECOVERY_BUDGET)
    assert time.monotonic() - died_at < RECOVERY_BUDGET
    assert "el pago fue rechazado (fondos insuficientes)" in (told.text or "")
    assert system.store.state_of(order_id) == OrderState.FALLIDO
    wait_until(lambda: settled(system.client), 60, "the queues to drain")
    assert count(chat, failed) == 1
    assert not any(completed(m) for m in chat.bot_messages())
