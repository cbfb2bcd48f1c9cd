"""Redis with Sentinel: the master freezes (SIGSTOP) in the middle of a stream of orders.

A master whose machine is lost, frozen or cut off closes no connection: every client's next
call to it waits for its socket timeout, unlike a killed process on loopback, whose sockets
are reset at once (tests/e2e/test_failover.py). Shown, with the product's client settings:
the order steps running at the freeze are not failed (their results are stored again on the
new master), every order the customer saw confirmed completes once, every process carries
on without a restart, and orders placed after the failover are served within a minute and a
half of the freeze (at the 30 s socket timeouts of before, a worker sat out its ack, its BRPOP
and its results in turn: about 90 s before it took work again).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from sandbox import RunningSandbox
from tests.support.failover import OrderStream, Placed, completed, sentinel_system
from tests.support.processes import wait_until
from tests.support.sentinel import ReplicatedRedis
from tests.support.system import System

# Orders go quickly, so the stream's backlog after the failover stays small.
STEP_SECONDS = "0.5"
SERVED_WITHIN = 80.0


@pytest.fixture(scope="module")
def cluster_system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[tuple[System, ReplicatedRedis]]:
    tmp = tmp_path_factory.mktemp("frozen")
    with sentinel_system(
        tmp, sandbox_server.url, sandbox_server.token, STEP_SECONDS=STEP_SECONDS
    ) as running:
        yield running


@pytest.fixture
def system(cluster_system: tuple[System, ReplicatedRedis]) -> System:
    """For the e2e conftest, which prints every process's log when a test fails."""
    return cluster_system[0]


def failed(message_text: str) -> bool:
    return "no se pudo completar" in message_text


def test_a_frozen_master_fails_no_order_and_the_system_carries_on(
    cluster_system: tuple[System, ReplicatedRedis],
) -> None:
    system, cluster = cluster_system
    started = {p.name: p.popen.pid for p in system.processes if p.popen}
    warm = system.private_chat()
    warm.send("/pedido antes de la helada")
    warm.wait_for(completed, timeout=60)

    # When customers order one after another and the master freezes mid-stream
    old_port = cluster.current_master_port()
    frozen = cluster.node_on(old_port)
    try:
        with OrderStream(system, every=0.5) as stream:
            wait_until(lambda: len(stream.orders) >= 8, 60, "orders before the freeze")
            frozen_at = time.time()
            frozen.signal(signal.SIGSTOP)
            wait_until(lambda: cluster.current_master_port() != old_port, 60, "a promotion")
            promoted_at = time.time()
            wait_until(lambda: time.time() > promoted_at + 8, 30, "orders after the failover")

        # Then every order the customer saw confirmed completes, once, and none failed
        orders = stream.orders

        def settled(order: Placed) -> bool:
            texts = [m.text or "" for m in order.chat.bot_messages()]
            return bool(order.completions()) or any(failed(text) for text in texts)

        confirmed = [order for order in orders if order.confirmed()]
        wait_until(lambda: all(settled(o) for o in confirmed), 120, "every order to settle")
        for order in orders:
            texts = [m.text or "" for m in order.chat.bot_messages()]
            assert not any(failed(text) for text in texts), order.chat.transcript_text()
            if order.confirmed():
                assert len(order.completions()) == 1, order.chat.transcript_text()
        unconfirmed = [o.chat.transcript_text() for o in orders if not o.confirmed()]
        assert not unconfirmed, unconfirmed

        # ...orders placed after the failover were served within SERVED_WITHIN of the freeze
        after = [o for o in orders if o.sent_at > promoted_at]
        assert after
        first_served = min(o.completions()[0].date for o in after)  # Telegram's whole seconds
        assert first_served - frozen_at <= SERVED_WITHIN + 1, first_served - frozen_at

        # ...and every process carried on, the same process as before
        assert all(p.running for p in system.processes), system.all_logs()[-5000:]
        assert started == {p.name: p.popen.pid for p in system.processes if p.popen}
    finally:
        frozen.signal(signal.SIGCONT)
