"""Burst benchmark: 300 orders from 300 chats at once under Telegram's real limits.

The sandbox enforces 30 messages/s per bot and 1/s per chat (burst 3, edits count); the
system is the real one: a fresh redis-server, the bot, and two `celery worker` processes,
STEP_SECONDS=0 so the limits, not the steps, set the pace.

An order needs at least three messages under saturation (the status reply, its final
edit, the "completado" result), so Telegram's limit allows 30 ÷ 3 = 10 orders/s: the
baseline. Printed: orders/s (first /pedido to last result, on the sandbox's clock) as a
ratio to it (goal ≥ 0.9), 429s (goal 0), sends per order, p95 from /pedido to its result,
and Redis bytes per finished order (growth of `used_memory` over the burst, and the order's
own hash alone).
"""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis

from bench._system import bench_system
from sandbox.client import SandboxClient
from tests.support.processes import wait_until

ORDERS = 300
WORKERS = 2
CONCURRENCY = 4
LIMIT = 30.0
SENDS_NEEDED = 3
DONE = "está completado"


def _events(sandbox: SandboxClient, since: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        batch = sandbox.wait_events(since, timeout=0)
        events = batch["events"]
        if not events:
            return found
        found += events
        since = max(e["seq"] for e in events)


def _done_count(sandbox: SandboxClient) -> int:
    return int(sandbox.counters()["calls"].get("sendMessage", 0))


def main() -> None:
    started = time.monotonic()
    with bench_system("bench-burst-") as system:
        sandbox = system.sandbox
        sandbox.set_limits(enabled=True, count_edits=True)
        client = redis.Redis.from_url(system.redis.url, decode_responses=True)
        try:
            threads = [
                threading.Thread(target=system.start_worker, kwargs={"concurrency": CONCURRENCY})
                for _ in range(WORKERS)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            system.start_bot()
            chats = [system.private_chat(first_name=f"B{i}") for i in range(ORDERS)]
            time.sleep(2)  # let the start-up sends (command menus) leave the buckets
            memory_before = int(client.info("memory")["used_memory"])
            sandbox.reset_counters()
            since = int(sandbox.wait_events(2**62, timeout=0)["seq"])
            with ThreadPoolExecutor(32) as pool:
                list(pool.map(lambda c: c.send("/pedido 1 pizza"), chats))
            # Every order's reply and result are sendMessage calls: at least two per order.
            wait_until(lambda: _done_count(sandbox) >= 2 * ORDERS, 600, "the burst")
            events = _events(sandbox, since)
            asked: dict[int, float] = {}
            result: dict[int, float] = {}
            for e in events:
                if e["type"] != "message":
                    continue
                chat, text = int(e["chat_id"]), e["message"].get("text") or ""
                if not e["message"]["from_bot"] and text.startswith("/pedido"):
                    asked.setdefault(chat, e["time"])
                elif e["message"]["from_bot"] and DONE in text:
                    result.setdefault(chat, e["time"])
            counters = sandbox.counters()
            time.sleep(1)
            memory_after = int(client.info("memory")["used_memory"])
            finals = sum(
                1
                for chat in chats
                if any("completado" in (m.text or "") and m.edits for m in chat.bot_messages())
            )
        finally:
            client.close()

    elapsed = max(result.values()) - min(asked.values())
    rate = ORDERS / elapsed
    baseline = LIMIT / SENDS_NEEDED
    latencies = [result[c] - asked[c] for c in result]
    calls = counters["calls"]
    sends = sum(calls.get(m, 0) for m in ("sendMessage", "editMessageText"))
    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(f"{ORDERS} orders from {ORDERS} chats at once, {WORKERS} workers × {CONCURRENCY}:")
    print(
        f"  orders/s: {rate:.2f}  ÷ (30 ÷ 3 = {baseline:.0f}/s) = {rate / baseline:.3f}"
        "  (goal ≥ 0.9)"
    )
    print(f"  429s: {counters['too_many_requests']}  (goal 0)")
    print(
        f"  sends per order: {sends / ORDERS:.2f}  ({calls.get('sendMessage', 0)} sendMessage, "
        f"{calls.get('editMessageText', 0)} editMessageText)"
    )
    print(f"  /pedido → result: p50 {statistics.median(latencies):.1f} s, p95 {p95:.1f} s")
    print(f"  status messages ending in their final form: {finals}/{ORDERS}")
    print(
        f"  Redis bytes per finished order: {(memory_after - memory_before) / ORDERS:.0f} "
        "(used_memory growth; the order itself is in the database)"
    )
    print(f"(bench took {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
