"""Orders end to end against a baseline of three no-op Celery tasks, in the same run.

Prints orders/s (STEP_SECONDS=0, one worker process with one slot) as a ratio to no-op
chains/s on the same Redis, and p50/p95 from `/pedido` to the bot's first reply, with the
system of record on SQLite and on PostgreSQL (`python -m bench.orders sqlite` for one).

The machine is shared and noisy, so the two are measured in alternating rounds, each ratio
taken within its round, and the median ratio is reported.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from core.db.engine import Database
from core.db.schema import migrate
from sandbox import run_in_thread
from tests.support.postgres import PostgresServer
from tests.support.processes import Process, RedisServer, celery_argv, python_argv, wait_until

ORDERS = 150
LATENCY_SAMPLES = 60
ROUNDS = 3


def _env(redis_url: str, api_url: str, token: str, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TELEGRAM_API_URL": api_url,
        "TELEGRAM_BOT_TOKEN": token,
        "STEP_SECONDS": "0",
        "LOG_LEVEL": "INFO",
        # What is measured is our own overhead: under Telegram's limits (30 messages/s, 1/s
        # per chat) the limits, not the code, set the pace (bench.delivery measures that).
        "RATE_GLOBAL_PER_SECOND": "100000",
        "RATE_CHAT_PER_SECOND": "100000",
        "RATE_CHAT_BURST": "100000",
    }


def _start(process: Process, ready: str) -> Process:
    process.start()
    wait_until(lambda: ready in process.log(), 60, f"{process.name} ready")
    return process


def baseline_chains_per_second(env: dict[str, str], logs: Path, round_number: int) -> float:
    """No-op chains of three tasks through one worker slot, per second."""
    os.environ.update(REDIS_URL=env["REDIS_URL"])
    from celery import chain

    from bench._noop_app import app, bench_noop

    worker = Process(
        # One log per round: readiness is read from the log, which a restart appends to.
        f"noop-worker-{round_number}",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench._noop_app",
            "worker",
            "--concurrency=1",
            "--loglevel=INFO",
        ],
        env,
        logs,
    )
    _start(worker, " ready.")
    try:
        started = time.perf_counter()
        results = [
            chain(bench_noop.si("a"), bench_noop.s(), bench_noop.s()).apply_async()
            for _ in range(ORDERS)
        ]
        for result in results:
            result.get(timeout=120)
        elapsed = time.perf_counter() - started
    finally:
        worker.stop()
        app.close()
    return ORDERS / elapsed


def orders_per_second(
    sandbox_url: str, env: dict[str, str], logs: Path, round_number: int, latency: bool
) -> tuple[float, list[float]]:
    """Orders placed by as many chats at once, until each chat sees its completion.

    With `latency`, also /pedido → first reply for one order at a time, after the timed part.
    """
    from sandbox.client import SandboxClient

    worker = _start(
        Process(f"worker-{round_number}", celery_argv("worker", "--concurrency=1"), env, logs),
        " ready.",
    )
    bot = _start(
        Process(f"bot-{round_number}", python_argv("-m", "bot"), env, logs), "Application started"
    )
    client = SandboxClient(sandbox_url)
    try:
        chats = [
            client.private_chat(user_id=50_000 + 1000 * round_number + i, first_name=f"U{i}")
            for i in range(ORDERS)
        ]
        sends_before = client.counters()["calls"].get("sendMessage", 0)
        started = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda c: c.send("/pedido 1 pizza"), chats))
        # Done when every chat got its status reply and its "completado" (two sendMessage
        # each). Polling one counter keeps the harness from stealing the CPU it measures:
        # a transcript read per chat per event cost more than the sandbox itself.
        wait_until(
            lambda: client.counters()["calls"].get("sendMessage", 0) - sends_before >= 2 * ORDERS,
            300,
            "every order's messages",
        )
        rate = ORDERS / (time.perf_counter() - started)
        for chat in chats:  # checked outside the timing: each chat completed, once
            finals = [m for m in chat.bot_messages() if "está completado" in (m.text or "")]
            assert len(finals) == 1, chat.transcript_text()

        latencies = []
        for i in range(LATENCY_SAMPLES if latency else 0):
            chat = client.private_chat(user_id=90_000 + i, first_name=f"L{i}")
            sent = time.perf_counter()
            chat.send("/pedido 1 café")
            chat.wait_for(lambda m: (m.text or "").startswith("🧾"), timeout=30)
            latencies.append(time.perf_counter() - sent)
            chat.wait_for(lambda m: "está completado" in (m.text or ""), timeout=30)
    finally:
        bot.stop()
        worker.stop()
    return rate, latencies


def main() -> None:
    engines = sys.argv[1:] or ["sqlite", "postgresql"]
    if len(engines) == 1:
        print(f"== {engines[0]}")
        run(engines[0])
        return
    # One process per engine: the baseline's Celery app keeps the first broker it was given.
    for engine in engines:
        subprocess.run([sys.executable, "-m", "bench.orders", engine], check=True)


def _database(engine: str, tmp: Path) -> tuple[str, PostgresServer | None]:
    if engine == "sqlite":
        url, server = f"sqlite:///{tmp / 'pedidos.db'}", None
    else:
        server = PostgresServer().start()
        url = server.new_database()
    db = Database(url)
    migrate(db)
    db.dispose()
    return url, server


def run(engine: str) -> None:
    ratios: list[tuple[float, float]] = []
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp_name, run_in_thread(port=0) as sandbox:
        # The bot's own limits are raised above (our overhead is measured, not Telegram's
        # pace): the sandbox's, Telegram's by default, go too.
        sandbox.client.set_limits(enabled=False)
        tmp = Path(tmp_name)
        redis = RedisServer(tmp, tmp).start()
        database_url, postgres = _database(engine, tmp)
        try:
            env = _env(redis.url, sandbox.url, sandbox.token, database_url)
            for number in range(ROUNDS):
                baseline = baseline_chains_per_second(env, tmp, number)
                last = number == ROUNDS - 1
                rate, found = orders_per_second(sandbox.url, env, tmp, number, latency=last)
                ratios.append((baseline, rate))
                latencies += found
        finally:
            redis.stop()
            if postgres is not None:
                postgres.stop()
    p50 = statistics.median(latencies) * 1000
    p95 = statistics.quantiles(latencies, n=20)[18] * 1000
    for number, (baseline, rate) in enumerate(ratios, 1):
        print(
            f"round {number}: no-op chains/s {baseline:6.1f}, orders/s {rate:6.1f}, "
            f"ratio {rate / baseline:.2f}"
        )
    baseline, rate = sorted(ratios, key=lambda pair: pair[1] / pair[0])[len(ratios) // 2]
    print(f"no-op chains/s (baseline):  {baseline:8.1f}   (median round)")
    print(f"orders/s end to end:        {rate:8.1f}")
    print(f"ratio orders/baseline:      {rate / baseline:8.2f}   (goal >= 0.5)")
    print(f"first reply p50: {p50:.1f} ms, p95: {p95:.1f} ms   (goal p95 < 100 ms)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
