"""Orders end to end against a baseline of three no-op Celery tasks, in the same run.

Prints orders/s (STEP_SECONDS=0, one worker process with one slot) as a ratio to no-op
chains/s on the same Redis, and p50/p95 from `/pedido` to the bot's first reply, with the
system of record on SQLite and on PostgreSQL (`python -m bench.orders sqlite` for one).

Beside the ratio, what an order costs: the CPU the worker and the bot used per order (and the
no-op worker per chain), and per order the SQL statements and commits each sent and their
Redis round trips (counted in the processes, bench._instrument), and the commands Redis ran
for them (its INFO commandstats, commands inside scripts included).

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

from bench._instrument import read_counts
from core.db.engine import Database
from core.db.schema import migrate
from sandbox import run_in_thread
from tests.support.postgres import PostgresServer
from tests.support.processes import Process, RedisServer, wait_until

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


def _counted(counts: Path, *module: str) -> list[str]:
    """A module run with its SQL statements and Redis round trips counted into `counts`."""
    return [sys.executable, "-m", "bench._instrument", "--counts", str(counts), "--", *module]


def cpu_seconds(process: Process) -> float:
    """CPU (user + system) used so far by the process's group (a worker and its children)."""
    assert process.popen is not None
    group, total = process.popen.pid, 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == group:  # fields[2]: the process group
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def redis_commands(url: str) -> int:
    """Commands Redis has run so far (INFO commandstats, scripts' own calls included)."""
    import redis as redis_lib

    client = redis_lib.Redis.from_url(url)
    try:
        return sum(int(v["calls"]) for v in client.info("commandstats").values())
    finally:
        client.close()


def _start(process: Process, ready: str) -> Process:
    process.start()
    wait_until(lambda: ready in process.log(), 60, f"{process.name} ready")
    return process


def baseline_chains_per_second(
    env: dict[str, str], logs: Path, round_number: int
) -> tuple[float, dict[str, float]]:
    """No-op chains of three tasks through one worker slot, per second; what one cost."""
    os.environ.update(REDIS_URL=env["REDIS_URL"])
    from celery import chain

    from bench._noop_app import app, bench_noop

    worker = Process(
        # One log per round: readiness is read from the log, which a restart appends to.
        f"noop-worker-{round_number}",
        _counted(
            logs / f"counts-noop-{round_number}",
            *("celery", "-A", "bench._noop_app", "worker", "--concurrency=1", "--loglevel=INFO"),
        ),
        env,
        logs,
    )
    _start(worker, " ready.")
    try:
        cpu, commands = cpu_seconds(worker), redis_commands(env["REDIS_URL"])
        counts = read_counts(logs / f"counts-noop-{round_number}")
        started = time.perf_counter()
        results = [
            chain(bench_noop.si("a"), bench_noop.s(), bench_noop.s()).apply_async()
            for _ in range(ORDERS)
        ]
        for result in results:
            result.get(timeout=120)
        elapsed = time.perf_counter() - started
        cost = {
            "worker_cpu": (cpu_seconds(worker) - cpu) / ORDERS,
            "commands": (redis_commands(env["REDIS_URL"]) - commands) / ORDERS,
            "worker_redis": (
                read_counts(logs / f"counts-noop-{round_number}")["redis"] - counts["redis"]
            )
            / ORDERS,
        }
    finally:
        worker.stop()
        app.close()
    return ORDERS / elapsed, cost


def orders_per_second(
    sandbox_url: str, env: dict[str, str], logs: Path, round_number: int, latency: bool
) -> tuple[float, list[float], dict[str, float]]:
    """Orders placed by as many chats at once, until each chat sees its completion.

    With `latency`, also /pedido → first reply for one order at a time, after the timed part.
    """
    from sandbox.client import SandboxClient

    counted = {role: logs / f"counts-{role}-{round_number}" for role in ("worker", "bot")}
    worker = _start(
        Process(
            f"worker-{round_number}",
            _counted(counted["worker"], "celery", "-A", "tasks", "worker", "--concurrency=1"),
            env,
            logs,
        ),
        " ready.",
    )
    bot = _start(
        Process(f"bot-{round_number}", _counted(counted["bot"], "bot"), env, logs),
        "Application started",
    )
    client = SandboxClient(sandbox_url)
    try:
        chats = [
            client.private_chat(user_id=50_000 + 1000 * round_number + i, first_name=f"U{i}")
            for i in range(ORDERS)
        ]
        sends_before = client.counters()["calls"].get("sendMessage", 0)
        before = _cost(worker, bot, counted, env["REDIS_URL"])
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
        after = _cost(worker, bot, counted, env["REDIS_URL"])
        cost = {name: (after[name] - before[name]) / ORDERS for name in after}
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
    return rate, latencies, cost


def _cost(
    worker: Process, bot: Process, counted: dict[str, Path], redis_url: str
) -> dict[str, float]:
    """What the worker and the bot have used so far: CPU, statements, round trips."""
    worker_counts, bot_counts = read_counts(counted["worker"]), read_counts(counted["bot"])
    return {
        "worker_cpu": cpu_seconds(worker),
        "bot_cpu": cpu_seconds(bot),
        "commands": redis_commands(redis_url),
        **{f"worker_{name}": value for name, value in worker_counts.items()},
        **{f"bot_{name}": value for name, value in bot_counts.items()},
    }


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
    costs: list[tuple[dict[str, float], dict[str, float]]] = []
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
                baseline, noop_cost = baseline_chains_per_second(env, tmp, number)
                last = number == ROUNDS - 1
                rate, found, cost = orders_per_second(sandbox.url, env, tmp, number, latency=last)
                ratios.append((baseline, rate))
                costs.append((noop_cost, cost))
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
    print_costs(costs)
    sys.stdout.flush()


def print_costs(costs: list[tuple[dict[str, float], dict[str, float]]]) -> None:
    """Per order (per chain for the no-op), the median over the rounds."""

    def median(side: int, name: str) -> float:
        return statistics.median(round_costs[side][name] for round_costs in costs)

    print(
        f"CPU per order: worker {1000 * median(1, 'worker_cpu'):.1f} ms, "
        f"bot {1000 * median(1, 'bot_cpu'):.1f} ms   "
        f"(no-op chain: worker {1000 * median(0, 'worker_cpu'):.1f} ms)"
    )
    print(
        f"SQL per order: worker {median(1, 'worker_sql'):.1f} statements in "
        f"{median(1, 'worker_commits'):.1f} commits, bot {median(1, 'bot_sql'):.1f} "
        f"in {median(1, 'bot_commits'):.1f}"
    )
    print(
        f"Redis per order: round trips worker {median(1, 'worker_redis'):.1f}, "
        f"bot {median(1, 'bot_redis'):.1f}; commands run {median(1, 'commands'):.1f}   "
        f"(no-op chain: round trips {median(0, 'worker_redis'):.1f}, "
        f"commands {median(0, 'commands'):.1f})"
    )


if __name__ == "__main__":
    main()
