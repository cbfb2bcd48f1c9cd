"""A worker SIGKILLed while it holds prefetched orders (taken from Redis, not started): with the
default settings (VISIBILITY_TIMEOUT 1 h, TASK_LEASE 15 s) every order finishes, once, within two
minutes, even when the worker that took over dies holding the recovered copies in turn."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from core.orders.states import OrderState
from sandbox import RunningSandbox
from sandbox.client import Chat
from tests.e2e.test_orders import completed, is_status, order_id_of
from tests.e2e.test_recovery import RECOVERY_BUDGET, count, kill_group, settled
from tests.support.processes import Process, wait_until
from tests.support.system import System, running_system

ORDERS = 4
# One pool process taking several messages ahead of the one it runs (Celery's default
# multiplier is 4; ours is 1, and a deployment may raise it).
PREFETCHING = ("--prefetch-multiplier=8",)


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("prefetch")
    with running_system(tmp, sandbox_server.url, sandbox_server.token) as running:
        # Recovery runs on the defaults: no lease, sweep or visibility setting is changed.
        assert not {"VISIBILITY_TIMEOUT", "TASK_LEASE", "SWEEP_INTERVAL"} & set(running.env)
        running.start_bot()
        yield running


def holding_everything(system: System, worker: Process, messages: int, since: float) -> bool:
    """The worker took every order message (one runs, the rest wait in its memory), and none
    is still held from before `since` (by a worker that died then)."""
    store = system.client
    taken_before = store.zrangebyscore("unacked_index", "-inf", since)
    held = store.hlen("unacked") == messages and not taken_before
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
    started = time.time()
    wait_until(lambda: holding_everything(system, first, ORDERS, started), 30, "all prefetched")
    wait_until(lambda: running(chats) == 1, 30, "one order running")

    # The worker dies with one order running and three taken but not started.
    killed_at, killed_on = kill_group(first), time.time()
    # The next worker takes over and prefetches all of it, the recovered copy of the running
    # order among it, and dies in turn before finishing any.
    second = system.start_worker("orders", 1, PREFETCHING, STEP_SECONDS="60")
    wait_until(lambda: "sent again as" in system.all_logs(), 60, "the running order recovered")
    # Every order's message, plus the recovered copy of the one that was running.
    wait_until(
        lambda: holding_everything(system, second, ORDERS + 1, killed_on), 60, "all taken again"
    )
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
