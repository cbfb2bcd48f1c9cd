"""Redis with Sentinel: the master is SIGKILLed in the middle of a stream of orders.

On loopback: a master, one replica and three Sentinels (real `redis-server`s, passwords on),
the bot, two workers and beat on REDIS_SENTINELS settings. Sentinel timing is tuned for the
test (down after 1 s, tests/support/sentinel.py TEST_TIMING); every client setting is the
product's default. Shown: Sentinel promotes the replica; every process carries on, without a
restart, within 30 s; every order whose confirmation the customer saw completes, once; and
the stale-order watcher still runs once per interval.
"""

from __future__ import annotations

import itertools
import time

from tests.support.failover import (
    TASK_DONE,
    WATCHER_DONE,
    WATCHER_SENT,
    Failover,
    OrderStream,
    cluster_fixtures,
    completed,
    is_status,
    kill_master,
    log_times,
    pids,
    warmed_up,
)
from tests.support.processes import Process, wait_until
from tests.support.sentinel import ReplicatedRedis
from tests.support.system import System

WATCH_INTERVAL = 2.0
CARRY_ON_WITHIN = 30.0


cluster_system, system = cluster_fixtures("failover", watch_interval=f"{WATCH_INTERVAL:g}s")


def processes(system: System, prefix: str) -> list[Process]:
    return [p for p in system.processes if p.name.startswith(prefix)]


def test_master_killed_mid_stream_loses_and_duplicates_no_order(
    cluster_system: tuple[System, ReplicatedRedis],
) -> None:
    system, cluster = cluster_system
    # Given the system working on the Sentinels' master, orders completing, the watcher running
    started = warmed_up(system, "antes del fallo")
    (beat,) = processes(system, "beat")
    wait_until(lambda: len(log_times(beat, WATCHER_SENT)) >= 2, 60, "the watcher to run")

    # When customers order one after another and the master is SIGKILLed mid-stream
    with OrderStream(system, every=0.25) as stream:
        wait_until(lambda: len(stream.orders) >= 12, 60, "orders before the kill")
        failover = kill_master(cluster, stream.orders)
        # ...and the stream goes on through the failover and after it
        wait_until(
            lambda: time.time() > failover.killed_at + 12 and len(failover.after_kill()) >= 12,
            90,
            "orders after the kill",
        )

    # Then Sentinel promoted the replica
    assert failover.promoted_port == cluster.replica.port
    assert cluster.replica.role() == "master"

    # ...every order whose confirmation the customer saw completes, exactly once
    orders = failover.orders
    for order in orders:
        if order.confirmed():
            order.chat.wait_for(completed, timeout=120)
    for order in orders:
        if order.confirmed():
            assert len(order.completions()) == 1, order.chat.transcript_text()
            assert len(order.status()) == 1, order.chat.transcript_text()
    # ...and every customer did see one (the bot waited the failover out, it refused none)
    unconfirmed = [o.chat.transcript_text() for o in orders if not o.confirmed()]
    assert not unconfirmed, unconfirmed

    # ...every process carried on, the same process as before (no restart), within 30 s
    assert all(p.running for p in system.processes), system.all_logs()[-5000:]
    assert started == pids(system)
    _assert_carried_on(system, failover)

    # ...and the watcher still runs once per interval
    _assert_watcher_once_per_interval(system, beat, failover)


def test_a_worker_running_a_step_when_the_master_is_killed_carries_on(
    cluster_system: tuple[System, ReplicatedRedis],
) -> None:
    """The worker's consumer closes its channel twice on the way to the new master; the
    second close used to restore the running step's message through the connection the first
    one dropped (AttributeError in kombu) and the worker exited (tasks.broker_channel)."""
    system, cluster = cluster_system
    # The master the first test killed is back, and follows the promoted one.
    (down,) = [node for node in cluster.nodes if not node.running]
    down.start()
    wait_until(down.follows_a_master, 60, "the old master to follow the new one")
    started = warmed_up(system, "otra vez en calma")

    # When the master is SIGKILLed while a step runs: its progress edit is answered late
    chat = system.private_chat()
    system.sandbox.hold_answers("editMessageText", 5.0)
    chat.send("/pedido durante el paso")
    chat.wait_for(lambda m: is_status(m) and "en cola" not in (m.text or ""), timeout=30)
    cluster.kill_master()

    # Then the order completes, once, and every process carried on: no worker exited
    chat.wait_for(completed, timeout=60)
    assert sum(1 for m in chat.bot_messages() if completed(m)) == 1
    assert all(p.running for p in system.processes), system.all_logs()[-5000:]
    assert started == pids(system)
    assert "Unrecoverable error" not in system.all_logs()


def _assert_carried_on(system: System, failover: Failover) -> None:
    deadline = failover.killed_at + CARRY_ON_WITHIN
    # The bot: an order sent after the kill was confirmed within 30 s of the kill.
    answered = [o for o in failover.after_kill() if o.confirmed()]
    first_confirmation = min(
        m.date for o in answered for m in o.status()
    )  # Telegram's whole seconds
    assert first_confirmation <= deadline + 1, first_confirmation - failover.killed_at
    # Each worker: a task finished after the kill, within 30 s of it.
    for worker in processes(system, "worker"):
        done = [t for t in log_times(worker, TASK_DONE) if t > failover.killed_at]
        assert done and min(done) <= deadline, (worker.name, done[:1])
    # Beat: a run sent after the kill, within 30 s of it.
    (beat,) = processes(system, "beat")
    sent = [t for t in log_times(beat, WATCHER_SENT) if t > failover.killed_at]
    assert sent and min(sent) <= deadline, sent[:1]


def _assert_watcher_once_per_interval(system: System, beat: Process, failover: Failover) -> None:
    # A few more intervals after the failover, then look at every run since it.
    since = log_times(beat, WATCHER_SENT)[-1]
    wait_until(
        lambda: len([t for t in log_times(beat, WATCHER_SENT) if t > since]) >= 4,
        30,
        "four more watcher runs",
    )
    sent = [t for t in log_times(beat, WATCHER_SENT) if t > failover.killed_at]
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent)]
    # Never twice in one interval, and no interval without a run once carried on.
    assert min(gaps) > WATCH_INTERVAL / 2, gaps
    assert max(gaps) < WATCH_INTERVAL * 2 + 1, gaps
    # ...and once the workers consume again, each run sent is run (up to the one in flight
    # now). A run sent while they were still reconnecting expires unrun when the next is due
    # (its `expires`): one per interval, never two.
    workers = processes(system, "worker")
    back = max(
        min(t for t in log_times(worker, TASK_DONE) if t > failover.killed_at) for worker in workers
    )
    sent_since = [t for t in sent if t > back]
    ran = [t for w in workers for t in log_times(w, WATCHER_DONE) if t > back]
    assert len(sent_since) >= 3, (sent, back)
    assert len(sent_since) - 1 <= len(ran) <= len(sent_since) + 1, (ran, sent_since)
