"""Redis memory per 1,000 queued orders, against 1,000 queued no-op chains in the same run.

`maxmemory` is sized from this: customers place ORDERS orders through the bot (the sandbox,
one chat each) while no worker runs, so every order waits in Redis as a queued chain with what
the bot keeps beside it; the growth of `used_memory` (what Redis compares with `maxmemory`) is
divided by the orders. The baseline is the same number of three-task chains of a no-op task
(bench._noop_app) queued on an empty Redis: the ratio says what an order costs beyond Celery's
own message.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

from bench.orders import _database, _env, _start
from sandbox import run_in_thread
from tests.support.processes import Process, RedisServer, celery_argv, python_argv, wait_until

ORDERS = 1000


def used(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def queued_noop_chains(url: str) -> int:
    """Bytes ORDERS no-op three-task chains take in an empty Redis, queued and not run."""
    os.environ.update(REDIS_URL=url)
    from celery import chain

    from bench._noop_app import app, bench_noop

    client = redis.Redis.from_url(url)
    before = used(client)
    for _ in range(ORDERS):
        chain(bench_noop.si("a"), bench_noop.s(), bench_noop.s()).apply_async()
    grown = used(client) - before
    app.close()
    return grown


def queued_orders(env: dict[str, str], sandbox_url: str, logs: Path) -> tuple[int, int, int]:
    """Bytes ORDERS orders placed through the bot take in Redis while no worker runs, the
    length of the orders queue (each order one message), and the bytes still held once a
    worker completed them all (results, kept RESULT_EXPIRES; once-per-key guards)."""
    from sandbox.client import SandboxClient

    client = redis.Redis.from_url(env["REDIS_URL"])
    bot = _start(Process("bot", python_argv("-m", "bot"), env, logs), "Application started")
    chats = SandboxClient(sandbox_url)
    try:
        before = used(client)
        users = [chats.private_chat(user_id=70_000 + i, first_name=f"U{i}") for i in range(ORDERS)]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda c: c.send("/pedido 2 pizzas margarita"), users))
        wait_until(lambda: client.llen("orders") >= ORDERS, 300, "every order queued")
        queued, length = used(client) - before, int(client.llen("orders"))
        worker = _start(Process("worker", celery_argv("worker"), env, logs), " ready.")
        try:
            # Each chat gets its status reply and its "completado": two sendMessage each.
            sends = lambda: chats.counters()["calls"].get("sendMessage", 0)  # noqa: E731
            wait_until(lambda: sends() >= 2 * ORDERS, 600, "every order completed", every=1)
            wait_until(lambda: not client.hlen("unacked"), 60, "every message acked")
        finally:
            worker.stop()
        return queued, length, used(client) - before
    finally:
        bot.stop()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name, run_in_thread(port=0) as sandbox:
        sandbox.client.set_limits(enabled=False)
        tmp = Path(tmp_name)
        (tmp / "noop").mkdir()
        (tmp / "orders").mkdir()
        noop_redis = RedisServer(tmp / "noop", tmp).start()
        orders_redis = RedisServer(tmp / "orders", tmp).start()
        database_url, _ = _database("sqlite", tmp)
        try:
            baseline = queued_noop_chains(noop_redis.url)
            env = _env(orders_redis.url, sandbox.url, sandbox.token, database_url)
            grown, queued, kept = queued_orders(env, sandbox.url, tmp)
        finally:
            noop_redis.stop()
            orders_redis.stop()
    per_order, per_chain = grown / ORDERS, baseline / ORDERS
    print(f"no-op 3-task chain queued: {per_chain / 1024:.2f} KB each")
    print(f"order queued ({queued} in the queue): {per_order / 1024:.2f} KB each")
    print(f"per 1,000 queued orders: {grown / 1024 / 1024:.2f} MB")
    print(f"ratio order / no-op chain: {per_order / per_chain:.2f}")
    print(f"kept per completed order (results, guards): {kept / ORDERS / 1024:.2f} KB")


if __name__ == "__main__":
    main()
