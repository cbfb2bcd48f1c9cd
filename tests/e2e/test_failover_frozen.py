"""Redis with Sentinel: the master freezes (SIGSTOP) in the middle of a stream of orders.

A master whose machine is lost, frozen or cut off closes no connection: every client's next
call to it waits for its socket timeout, unlike a killed process on loopback, whose sockets
are reset at once (tests/e2e/test_failover.py). Shown, with the product's client settings:
the order steps running at the freeze are not failed (their results are stored again on the
new master), every order completes once, every process carries on without a restart, and
orders placed after the failover are served within SERVED_WITHIN of the freeze: every
process drops its connections to the old master as soon as the Sentinels name another
(core.sentinel_watch), instead of waiting out a socket timeout on each. And workers idle at
the freeze follow the Sentinels to the new master (tasks.master_watch): before, nothing of
theirs timed out, and they never took the next order.
"""

from __future__ import annotations

import signal
import time

from tests.support.failover import (
    OrderStream,
    Placed,
    cluster_fixtures,
    completed,
    pids,
    warmed_up,
)
from tests.support.processes import wait_until
from tests.support.sentinel import ReplicatedRedis
from tests.support.system import System

# Orders go quickly, so the stream's backlog after the failover stays small.
STEP_SECONDS = "0.5"
# Seen: 12–14 s (promotion 2–3 s). Before every process left the silent master as soon as
# the Sentinels named another (core.sentinel_watch), 58 s mid-stream and 85–125 s when idle:
# each pooled connection waited out its own 10 s socket timeout.
SERVED_WITHIN = 35.0


cluster_system, system = cluster_fixtures("frozen", STEP_SECONDS=STEP_SECONDS)


def failed(message_text: str) -> bool:
    return "no se pudo completar" in message_text


def test_a_frozen_master_fails_no_order_and_the_system_carries_on(
    cluster_system: tuple[System, ReplicatedRedis],
) -> None:
    system, cluster = cluster_system
    started = warmed_up(system, "antes de la helada")

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

        # Every customer is shown the confirmation (the bot waits the failover out)...
        wait_until(lambda: all(o.confirmed() for o in orders), 60, "every confirmation")
        wait_until(lambda: all(settled(o) for o in orders), 120, "every order to settle")
        for order in orders:
            texts = [m.text or "" for m in order.chat.bot_messages()]
            assert not any(failed(text) for text in texts), order.chat.transcript_text()
            assert len(order.completions()) == 1, order.chat.transcript_text()

        # ...orders placed after the failover were served within SERVED_WITHIN of the freeze
        after = [o for o in orders if o.sent_at > promoted_at]
        assert after
        first_served = min(o.completions()[0].date for o in after)  # Telegram's whole seconds
        assert first_served - frozen_at <= SERVED_WITHIN + 1, first_served - frozen_at

        # ...and every process carried on, the same process as before
        assert all(p.running for p in system.processes), system.all_logs()[-5000:]
        assert started == pids(system)
    finally:
        frozen.signal(signal.SIGCONT)


def test_idle_workers_take_the_first_order_after_a_frozen_master(
    cluster_system: tuple[System, ReplicatedRedis],
) -> None:
    """Workers idle at the freeze have nothing that times out: their consumers' BRPOP waits on
    the frozen master. They follow the Sentinels to the new one (tasks.master_watch); before,
    the first order after the failover waited for more than four minutes, unserved, and then
    85–125 s while each process's connections timed out one by one."""
    system, cluster = cluster_system
    old_port = cluster.current_master_port()
    (standby,) = [node for node in cluster.nodes if node.port != old_port]
    # The node the first test froze is back, as the new master's replica.
    wait_until(standby.follows_a_master, 60, "the standby to follow the master")
    warm = system.private_chat()
    warm.send("/pedido con todo en calma")
    warm.wait_for(completed, timeout=60)

    frozen = cluster.node_on(old_port)
    frozen_at = time.time()
    frozen.signal(signal.SIGSTOP)
    try:
        wait_until(lambda: cluster.current_master_port() == standby.port, 60, "a promotion")
        chat = system.private_chat()
        chat.send("/pedido después de la helada")
        done = chat.wait_for(completed, timeout=SERVED_WITHIN * 2)
        assert done.date - frozen_at <= SERVED_WITHIN + 1, done.date - frozen_at
        assert sum(1 for m in chat.bot_messages() if completed(m)) == 1
    finally:
        frozen.signal(signal.SIGCONT)
