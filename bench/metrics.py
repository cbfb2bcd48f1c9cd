"""What metrics cost the order path: orders end to end with METRICS_ENABLED on against off,
both at once, in one run.

On: the bot serves /metrics on its health port, the worker node runs in prometheus-client's
multiprocess mode (every count an mmap write) and serves the sum of its pool on its port, and
both are scraped every second (Prometheus' default is 15 s: this is the pessimistic case).
Off: METRICS_ENABLED=0, no multiprocess directory, no metrics port.

The machine is shared and its load swings from one minute to the next (measured one after
the other, the same two systems differ by 2x), so the two systems run side by side, each with
its own redis-server and sandbox, and share whatever the machine gives: both get ORDERS orders
from as many chats at once (bench.orders' load: one worker slot, STEP_SECONDS=0, limits
raised), and when the first has completed all of its orders, the completed orders of each give
the ratio on/off over the same seconds. In ROUNDS rounds, with fresh processes and the metered
side alternating, the geometric mean of the ratios is reported (goal: on at most 3% slower,
ratio >= 0.97); an A/A round (off against off) shows how even the harness is. The cost of one
recording call, times the calls an order makes, is printed too, as a steadier view of the
same cost.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import cast

from bench import orders
from sandbox import RunningSandbox, run_in_thread
from sandbox.client import Chat
from tests.support.processes import (
    Process,
    RedisServer,
    celery_argv,
    free_port,
    python_argv,
    wait_until,
)

ROUNDS = 6
ORDERS = 150
SCRAPE_EVERY = 1.0
CALLS = 200_000

# One recording call in a pool process (multiprocess mode), on and off, against a bare call.
MICRO = """
import os, sys, timeit
from core import metrics
n = int(sys.argv[1])
def bare(method, result):
    return None
on = timeit.timeit(lambda: metrics.api_call("sendMessage", "ok"), number=n)
metrics.configure(False)
off = timeit.timeit(lambda: metrics.api_call("sendMessage", "ok"), number=n)
base = timeit.timeit(lambda: bare("sendMessage", "ok"), number=n)
print(on / n * 1e6, off / n * 1e6, base / n * 1e6)
"""


# Scrapes each URL every SCRAPE_EVERY seconds, in a process of its own (in this one it would
# take the GIL from the sandbox, the bench's busiest part); prints its scrape count at the end.
SCRAPER = """
import signal, sys, time, urllib.request
urls, every, done, last = sys.argv[2:], float(sys.argv[1]), 0, {}
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
try:
    while True:
        time.sleep(every)
        for url in urls:
            try:
                last[url] = urllib.request.urlopen(url, timeout=5).read().decode()
                done += 1
            except OSError:
                pass  # not serving yet, or already stopped
finally:
    print(done, int('method="sendMessage",result="ok"' in last.get(urls[0], "")))
"""


def metrics_env(env: dict[str, str], tmp: Path, name: str) -> tuple[dict[str, str], list[str]]:
    """The environment of a system with metrics on, and the URLs to scrape."""
    directory = tmp / f"metrics-{name}"
    directory.mkdir()
    worker_port, bot_port = free_port(), free_port()
    on = {
        **env,
        "METRICS_ENABLED": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "WORKER_METRICS_PORT": str(worker_port),
        "HEALTH_PORT": str(bot_port),
    }
    return on, [f"http://127.0.0.1:{port}/metrics" for port in (worker_port, bot_port)]


@dataclass
class Side:
    """One system of a round: its sandbox, its processes, its chats."""

    name: str
    sandbox: RunningSandbox
    env: dict[str, str]
    scrape: list[str]
    processes: list[Process]
    chats: list[Chat]

    def sends(self) -> int:
        return int(self.sandbox.client.counters()["calls"].get("sendMessage", 0))


def _logged(process: Process, text: str) -> bool:
    return text in process.log()


def start_side(name: str, metered: bool, tmp: Path, number: int) -> Side:
    """Redis, sandbox, worker (one slot) and bot of one side, ready and with its chats."""
    logs = tmp / name
    logs.mkdir()
    redis = RedisServer(logs, logs).start()
    sandbox = run_in_thread(port=0)
    sandbox.client.set_limits(enabled=False)
    database_url, _ = orders._database("sqlite", logs)
    env = {
        **orders._env(redis.url, sandbox.url, sandbox.token, database_url),
        "METRICS_ENABLED": "0",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    urls: list[str] = []
    if metered:
        env, urls = metrics_env(env, tmp, name)
    worker = Process("worker", celery_argv("worker", "--concurrency=1"), env, logs)
    bot = Process("bot", python_argv("-m", "bot"), env, logs)
    for process, ready in ((worker, " ready."), (bot, "Application started")):
        process.start()
        wait_until(partial(_logged, process, ready), 60, f"{name} {process.name} ready")
    chats = [
        sandbox.client.private_chat(user_id=50_000 + 1000 * number + i, first_name=f"U{i}")
        for i in range(ORDERS)
    ]
    return Side(name, sandbox, env, urls, [redis, worker, bot], chats)


def race(sides: tuple[Side, Side]) -> tuple[int, int]:
    """Both sides get their orders at once; each side's completed orders when the first side
    has completed all of its own."""
    before = [side.sends() for side in sides]
    # One stream of orders, alternating sides, so that neither side is served first.
    interleaved = [
        chat for pair in zip(*(side.chats for side in sides), strict=True) for chat in pair
    ]

    def place() -> None:
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda chat: chat.send("/pedido 1 pizza"), interleaved))

    placing = [threading.Thread(target=place)]
    for thread in placing:
        thread.start()

    def progress() -> list[int]:
        # Two sendMessage per order: the bot's status reply and the worker's "completado".
        return [(side.sends() - start) // 2 for side, start in zip(sides, before, strict=True)]

    def one_done() -> list[int] | None:
        counts = progress()
        return counts if max(counts) >= ORDERS else None

    first, second = cast(list[int], wait_until(one_done, 600, "one side's orders"))
    for thread in placing:
        thread.join()
    return first, second


def one_round(tmp: Path, number: int, metered: tuple[bool, bool]) -> float:
    """The ratio of completed orders, side one over side two, in one race."""
    sides = (
        start_side(f"r{number}-a", metered[0], tmp, 2 * number),
        start_side(f"r{number}-b", metered[1], tmp, 2 * number + 1),
    )
    scraper = None
    urls = [url for side in sides for url in side.scrape]
    if urls:
        argv = [sys.executable, "-c", SCRAPER, str(SCRAPE_EVERY), *urls]
        scraper = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        first, second = race(sides)
    finally:
        if scraper is not None:
            scraper.terminate()
            scrapes, counted = (int(x) for x in scraper.communicate(timeout=10)[0].split())
            # The metered side really counted: its worker's sends were on its page.
            assert scrapes > 0 and counted, "worker metrics were not served"
        for side in sides:
            for process in reversed(side.processes):
                process.stop()
            side.sandbox.stop()
    return first / second


def micro_costs() -> tuple[float, float, float]:
    """µs per recording call in multiprocess mode: on, off, and a bare call."""
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory}
        out = subprocess.run(
            [sys.executable, "-c", MICRO, str(CALLS)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout.split()
    on, off, bare = (float(x) for x in out)
    return on, off, bare


def main() -> None:
    ratios: list[float] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        even = one_round(tmp, 0, (False, False))
        for number in range(1, ROUNDS + 1):
            # Which side is metered alternates, so neither side's place counts.
            if number % 2:
                ratios.append(one_round(tmp, number, (True, False)))
            else:
                ratios.append(1 / one_round(tmp, number, (False, True)))
    on_us, off_us, bare_us = micro_costs()
    print(f"A/A round (off against off): ratio {even:.3f}")
    for number, ratio in enumerate(ratios, 1):
        print(f"round {number}: orders completed on / off over the same seconds {ratio:.3f}")
    # The geometric mean: each side metered as often, a side's advantage cancels out.
    ratio = statistics.geometric_mean(ratios)
    print(f"orders on / off:            {ratio:8.3f}   (geometric mean of {ROUNDS}; goal >= 0.97)")
    print(f"one recording call: on {on_us:.2f} µs, off {off_us:.2f} µs, bare {bare_us:.2f} µs")
    # An order records about a dozen counts (its Bot API calls, limiter waits, its events),
    # against bench.orders' cost of an order in one worker slot (tens of ms).
    print(f"12 recording calls per order: {12 * (on_us - off_us) / 1000:.3f} ms")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
