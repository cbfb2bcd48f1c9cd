"""Delivery benchmark: the send rate the shared limiter reaches against Telegram's limit with
1 and with 4 worker processes, and the delay from a task's result to its message in the chat.

All on loopback, in one run: a fresh redis-server, the sandbox in this process with its flood
limits on (anything over them gets a 429), real `celery worker` processes (2 slots each).

Rate: RATE_MESSAGES messages, round-robin over enough chats that no chat's own 1/s limit is
what waits, are handed to `entregar_mensaje` at once. The achieved rate is the least-squares
slope of message number over the sandbox's own arrival times (the two end points alone
carry a few ms of arrival jitter each), divided by the bot-wide limit. Goal: at least 0.9,
never above 1, no 429.

Delay (limiter idle): one message at a time, each to a fresh chat, from the moment the
result exists to the sandbox's arrival time; the p95 of DELAY_SAMPLES, as a ratio to the
baseline of the same run, a bare Bot API call from this process (no limiter, no queue):
- inline: `Courier.send` in the task that has the result (how order steps send);
- queued: handed to `entregar_mensaje` (how a deferred send or a replay goes).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import redis
from celery import Celery

from bench._system import bench_system
from core.telegram.client import BotApi
from core.telegram.courier import Courier
from core.telegram.handover import Outgoing
from core.telegram.rate_limiter import Limits, RateLimiter
from sandbox.client import SandboxClient
from tests.support.processes import wait_until
from tests.support.system import System

RATE_MESSAGES = 300
RATE_CHATS = 100
DELAY_SAMPLES = 60
# Between delay samples: several bot-wide intervals, so every sample finds the limiter idle.
DELAY_SPACING = 0.1


def arrivals(sandbox: SandboxClient, since: int) -> list[dict[str, Any]]:
    """Bot messages that appeared after event `since`, with the sandbox's arrival times."""
    events = sandbox.wait_events(since, timeout=0)["events"]
    return [e for e in events if e["type"] == "message" and e["message"]["from_bot"]]


def current_seq(sandbox: SandboxClient) -> int:
    return int(sandbox.wait_events(2**62, timeout=0)["seq"])


def measure_rate(system: System, queue: Celery, tag: str) -> tuple[float, int]:
    """Achieved messages/s for a burst handed to the workers, and the 429s it caused."""
    sandbox = system.sandbox
    chats = [system.private_chat().id for _ in range(RATE_CHATS)]
    sandbox.reset_counters()
    since = current_seq(sandbox)
    for n in range(RATE_MESSAGES):
        message = Outgoing(chats[n % RATE_CHATS], f"{tag} {n}", f"bench:{tag}:{n}")
        queue.send_task("entregar_mensaje", args=[message.to_dict()], queue="telegram")
    wait_until(lambda: len(arrivals(sandbox, since)) >= RATE_MESSAGES, 60, f"{tag}: every message")
    times = sorted(e["time"] for e in arrivals(sandbox, since))
    rate = statistics.linear_regression(times, range(len(times))).slope
    return rate, int(sandbox.counters()["too_many_requests"])


def measure_delays(system: System, send: Callable[[int, str], None], tag: str) -> list[float]:
    """Seconds from handing each message over to its arrival, one message at a time."""
    sandbox = system.sandbox
    delays = []
    for n in range(DELAY_SAMPLES):
        chat = system.private_chat().id
        since = current_seq(sandbox)
        started = time.time()
        send(chat, f"{tag} {n}")
        found = wait_until(partial(arrivals, sandbox, since), 10, f"{tag} {n}")
        delays.append(found[0]["time"] - started)  # type: ignore[index]
        time.sleep(DELAY_SPACING)
    return delays


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def start_workers(system: System, count: int) -> None:
    threads = [threading.Thread(target=system.start_worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    """Run the three measurements and print them against the limit and the baseline."""
    started = time.monotonic()
    limit = Limits().global_per_second
    with bench_system("bench-delivery-") as system:
        server = system.redis
        system.sandbox.set_limits(enabled=True)
        queue = Celery("bench-delivery", broker=server.url)
        client = redis.Redis.from_url(server.url, decode_responses=True)
        try:
            start_workers(system, 1)
            one, one_429 = measure_rate(system, queue, "uno")
            start_workers(system, 3)
            four, four_429 = measure_rate(system, queue, "cuatro")

            api = BotApi(system.env["TELEGRAM_API_URL"], system.env["TELEGRAM_BOT_TOKEN"])
            courier = Courier(api, client, RateLimiter(client))
            keys = iter(range(10**9))

            def bare(chat: int, text: str) -> None:
                api.call("sendMessage", {"chat_id": chat, "text": text})

            def inline(chat: int, text: str) -> None:
                courier.send(chat, text, key=f"bench:inline:{next(keys)}")

            def queued(chat: int, text: str) -> None:
                message = Outgoing(chat, text, f"bench:queued:{next(keys)}")
                queue.send_task("entregar_mensaje", args=[message.to_dict()], queue="telegram")

            baseline = measure_delays(system, bare, "baseline")
            via_courier = measure_delays(system, inline, "inline")
            via_queue = measure_delays(system, queued, "queued")
        finally:
            client.close()
            queue.close()

    print(f"send rate, {RATE_MESSAGES} messages to {RATE_CHATS} chats, limit {limit:.0f}/s:")
    for workers, rate, refused in ((1, one, one_429), (4, four, four_429)):
        print(
            f"  {workers} worker{'s' if workers > 1 else ' '}: {rate:6.2f}/s = "
            f"{rate / limit:.4f} of the limit, {refused} 429s"
        )
    base = p95(baseline)
    print(f"delay result → chat, limiter idle, p95 of {DELAY_SAMPLES} (ratio to bare call):")
    print(f"  bare Bot API call (baseline): {base * 1000:6.1f} ms  1.00")
    for name, delays in (("Courier.send inline", via_courier), ("entregar_mensaje", via_queue)):
        print(f"  {name:28s}: {p95(delays) * 1000:6.1f} ms  {p95(delays) / base:.2f}")
    print(f"(bench took {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
