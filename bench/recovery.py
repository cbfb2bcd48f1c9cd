"""Recovery: time from a worker's death to its order's completion, over 10 kills.

Default settings (VISIBILITY_TIMEOUT 1 h, TASK_LEASE 15 s). Each round: a slow worker (the
only one on `orders`) starts an order's first step; another worker starts and is ready; the
slow worker's whole process group is SIGKILLed mid-step, and the clock runs until the chat
gets "completado". Printed: p50/p95 in seconds, and as ratios to TASK_LEASE (what a lease
needs to expire) and to VISIBILITY_TIMEOUT (what the broker alone would have taken).

Then Telegram's 429s: the sandbox's flood limits set to one message per `retry_after`
seconds per chat (2, 3 and 5 s), several messages to one chat at once through the workers;
printed: each wait ÷ its `retry_after` (the bound is 1.0-1.2), and the max. `--429-only`
skips the kills.
"""

from __future__ import annotations

import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from celery import Celery

from core.settings import Settings
from sandbox import run_in_thread
from tests.e2e.test_delivery import ratios_of_429_waits
from tests.e2e.test_orders import completed, is_status
from tests.support.system import System, running_system

KILLS = 10
# (retry_after, messages to one chat at once): each message after the first waits out a 429.
WAIT_ROUNDS = ((2, 4), (3, 4), (5, 3))


def one_kill(system: System) -> float:
    """Seconds from SIGKILL of the worker running an order's step to the order's completion."""
    for process in system.processes:
        if process.name.startswith("worker"):
            process.kill(signal.SIGTERM)
    slow = system.start_worker(queues="orders", concurrency=1, STEP_SECONDS="600")
    chat = system.private_chat()
    chat.send("/pedido 1 café")
    chat.wait_for(lambda m: is_status(m) and "validando pago" in (m.text or ""), timeout=60)
    system.start_worker()
    slow.kill(signal.SIGKILL)
    killed = time.monotonic()
    chat.wait_for(completed, timeout=300)
    return time.monotonic() - killed


def kills(system: System) -> None:
    """KILLS rounds of one_kill, then their summary."""
    defaults = Settings()
    times = []
    for number in range(1, KILLS + 1):
        seconds = one_kill(system)
        times.append(seconds)
        print(f"kill {number}: completed {seconds:.1f} s after the worker died", flush=True)
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20, method="inclusive")[-1]
    print(
        f"recovery over {KILLS} kills: p50 {p50:.1f} s, p95 {p95:.1f} s, max {max(times):.1f} s; "
        f"p50 / TASK_LEASE ({defaults.task_lease:g} s) = {p50 / defaults.task_lease:.2f}, "
        f"p95 / VISIBILITY_TIMEOUT ({defaults.visibility_timeout:g} s) = "
        f"{p95 / defaults.visibility_timeout:.4f}"
    )


def waits_of_429s(system: System) -> None:
    """Each 429's wait ÷ its retry_after, under the sandbox's flood limits."""
    queue = Celery("bench-429", broker=system.redis.url)
    try:
        ratios = ratios_of_429_waits(system, queue, WAIT_ROUNDS)
    finally:
        queue.close()
    shown = ", ".join(f"{ratio:.3f}" for ratio in ratios)
    print(f"429 waits ÷ retry_after (2, 3, 5 s): {shown}")
    print(f"429 wait ratio over {len(ratios)} waits: max {max(ratios):.3f} (bound 1.0-1.2)")


def main() -> None:
    only_429 = "--429-only" in sys.argv[1:]
    with (
        tempfile.TemporaryDirectory() as tmp,
        run_in_thread(port=0) as sandbox,
        running_system(Path(tmp), sandbox.url, sandbox.token, LOG_LEVEL="INFO") as system,
    ):
        system.start_bot()
        if only_429:
            system.start_worker()
        else:
            kills(system)
        waits_of_429s(system)


if __name__ == "__main__":
    main()
