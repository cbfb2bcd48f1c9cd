"""A Redis failover under a stream of orders: how long until orders complete again, and
how many the customers were told about are lost or doubled.

The whole system on loopback (tests/support/failover.py): a master, one replica and three
Sentinels, the bot, two workers and beat, every setting at its product default except the
Sentinels' timing (down after 1 s, as in the e2e test; production's 5 s adds 4 s to
detection). Customers in new chats order one after another; the master is SIGKILLed in the
middle of the stream, which goes on through the failover.

Prints: the time from the kill to the Sentinels' promotion, to the first order completed
after the kill and to the first completed order placed after it, each also as a ratio to
an order's normal time from /pedido to completion measured in the same run before the kill
(Telegram's 1 message/s per chat sets most of it); how many confirmed orders were lost or
completed twice; and what a replica fence costs, as a ratio to a bare Redis round trip.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from core import redisconn
from core.settings import Settings
from sandbox import run_in_thread
from tests.support.failover import (
    OrderStream,
    Placed,
    completed,
    kill_master,
    sentinel_system,
)
from tests.support.processes import Process, wait_until
from tests.support.sentinel import ReplicatedRedis

EVERY = 0.25  # one new customer's /pedido every 250 ms (well within what two workers do)
BEFORE_KILL = 20  # orders placed before the kill
AFTER_KILL = 15.0  # seconds the stream goes on after the kill
SETTLE = 240.0  # how long confirmed orders get to complete
NOTIFIED = re.compile(r"Task notificar_cliente\[[^\]]+\] succeeded")
ORDER_IN_LOG = re.compile(r"order=(P-[0-9A-Z]{6})")

# The product's defaults where the e2e fixtures shorten them for speed.
DEFAULTS = {"VISIBILITY_TIMEOUT": "1h", "RETRY_BACKOFF_MAX": "60s", "STEP_SECONDS": "0"}


def _completion_times(workers: list[Process]) -> dict[str, float]:
    """Order id → when its last step first finished (from the workers' logs)."""
    done: dict[str, float] = {}
    for worker in workers:
        for line in worker.log().splitlines():
            if NOTIFIED.search(line) and (found := ORDER_IN_LOG.search(line)):
                stamp = datetime.fromisoformat(line.split()[0].removeprefix("ts=")).timestamp()
                done[found.group(1)] = min(stamp, done.get(found.group(1), stamp))
    return done


def fence_cost(cluster: ReplicatedRedis, rounds: int = 500) -> tuple[float, float]:
    """Mean seconds of one fence (INCR, INFO, WAIT for the replica) and of a bare INCR."""
    settings = Settings.from_env(cluster.env())
    client = redisconn.connect(settings)
    fence = redisconn.ReplicaFence.from_settings(client, settings)
    timings = {}
    for name, call in (("bare", lambda: client.incr("bench:incr")), ("fence", fence)):
        call()
        start = time.perf_counter()
        for _ in range(rounds):
            call()
        timings[name] = (time.perf_counter() - start) / rounds
    assert fence().replicas == 1
    client.close()
    return timings["fence"], timings["bare"]


def _order_id(order: Placed) -> str | None:
    for message in order.status():
        if found := re.search(r"P-[0-9A-Z]{6}", message.text or ""):
            return found.group(0)
    return None


def run() -> tuple[dict[str, float], str]:
    tmp = tempfile.mkdtemp(prefix="bench-failover-")
    with (
        run_in_thread(port=0) as sandbox,
        sentinel_system(Path(tmp), sandbox.url, sandbox.token, **DEFAULTS) as (system, cluster),
    ):
        workers = [p for p in system.processes if p.name.startswith("worker")]
        fenced, bare = fence_cost(cluster)
        warm = system.private_chat()
        warm.send("/pedido para calentar")
        warm.wait_for(completed, timeout=120)
        with OrderStream(system, every=EVERY) as stream:
            wait_until(lambda: len(stream.orders) >= BEFORE_KILL, 120, "orders before")
            failover = kill_master(cluster, stream.orders)
            wait_until(lambda: time.time() > failover.killed_at + AFTER_KILL, 120, "stream")
        orders = failover.orders
        confirmed = [o for o in orders if o.confirmed()]
        deadline = time.monotonic() + SETTLE
        for order in confirmed:
            with contextlib.suppress(TimeoutError):
                order.chat.wait_for(completed, timeout=max(0.1, deadline - time.monotonic()))
        for order in confirmed:
            if not order.completions():
                print("  not completed:", order.chat.transcript_text().replace("\n", " | "))
        lost = sum(1 for o in confirmed if not o.completions())
        doubled = sum(1 for o in confirmed if len(o.completions()) > 1)
        ids = {oid: o.sent_at for o in confirmed if (oid := _order_id(o))}
        done = _completion_times(workers)
        killed = failover.killed_at
        normal = [
            done[oid] - sent for oid, sent in ids.items() if oid in done and done[oid] < killed
        ]
        after = [t for oid, t in done.items() if t > killed]
        placed_after = [done[oid] for oid, sent in ids.items() if sent > killed and oid in done]
        return {
            "orders": len(orders),
            "confirmed": len(confirmed),
            "lost": lost,
            "doubled": doubled,
            "promoted": failover.promoted_after,
            "first_completed": min(after) - killed,
            "first_placed_after_completed": min(placed_after) - killed,
            "normal_order": statistics.median(normal),
            "fence": fenced,
            "bare": bare,
        }, tmp


def main() -> None:
    result, logs = run()
    if result["lost"] or result["doubled"]:
        print(f"  (logs kept in {logs})")
    else:
        shutil.rmtree(logs, ignore_errors=True)
    normal = result["normal_order"]
    print(
        f"failover: {result['orders']:.0f} orders, {result['confirmed']:.0f} confirmed to the "
        f"customer; lost {result['lost']:.0f}, completed twice {result['doubled']:.0f}"
    )
    print(
        f"  kill → Sentinel promotes the replica: {result['promoted']:.1f} s "
        f"({result['promoted'] / normal:.1f}× a normal order's {normal:.2f} s)"
    )
    print(
        f"  kill → first order completed: {result['first_completed']:.1f} s "
        f"({result['first_completed'] / normal:.1f}× a normal order)"
    )
    print(
        f"  kill → first order placed after the kill completed: "
        f"{result['first_placed_after_completed']:.1f} s "
        f"({result['first_placed_after_completed'] / normal:.1f}× a normal order)"
    )
    print(
        f"  one replica fence (INCR+INFO+WAIT 1): {result['fence'] * 1000:.2f} ms = "
        f"{result['fence'] / result['bare']:.1f}× a bare INCR round trip"
    )


if __name__ == "__main__":
    main()
