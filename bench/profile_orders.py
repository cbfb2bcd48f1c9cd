"""Where an order's CPU goes: the bot and a worker under cProfile while orders run end to end.

    python -m bench.profile_orders [sqlite|postgresql] [orders] [top]

The same set-up as bench.orders (STEP_SECONDS=0, raised rate limits, the sandbox), but the
worker runs with `--pool solo` so its tasks run in the profiled process, and each order's
SQL statements and Redis round trips are counted (bench._instrument). Prints each process's
top functions by own time and by cumulative time, and the CPU seconds each used per order.
"""

from __future__ import annotations

import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.orders import _database, _env, _start
from sandbox import run_in_thread
from tests.support.processes import Process, RedisServer, wait_until


def instrumented(counts: Path, profile: Path, *module: str) -> list[str]:
    clock = os.environ.get("PROFILE_CLOCK", "cpu")
    # PROFILE_SQL=1: every statement into <counts>.sql, summed by shape at the end.
    sql = ["--sql-log", f"{counts}.sql"] if os.environ.get("PROFILE_SQL") else []
    return [
        sys.executable,
        "-m",
        "bench._instrument",
        "--counts",
        str(counts),
        "--profile",
        str(profile),
        "--clock",
        clock,
        *sql,
        "--",
        *module,
    ]


def place(sandbox_url: str, env: dict[str, str], tmp: Path, orders: int) -> float:
    """Run `orders` orders through a profiled bot and worker; seconds they took."""
    from sandbox.client import SandboxClient

    worker = _start(
        Process(
            "worker",
            instrumented(
                tmp / "counts-worker",
                tmp / "worker.prof",
                *("celery", "-A", "tasks", "worker", "--pool", "solo"),
            ),
            env,
            tmp,
        ),
        " ready.",
    )
    bot = _start(
        Process("bot", instrumented(tmp / "counts-bot", tmp / "bot.prof", "bot"), env, tmp),
        "Application started",
    )
    client = SandboxClient(sandbox_url)
    try:
        chats = [client.private_chat(user_id=70_000 + i, first_name=f"U{i}") for i in range(orders)]
        before = client.counters()["calls"].get("sendMessage", 0)
        started = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda c: c.send("/pedido 1 pizza"), chats))
        wait_until(
            lambda: client.counters()["calls"].get("sendMessage", 0) - before >= 2 * orders,
            600,
            "every order's messages",
        )
        return time.perf_counter() - started
    finally:
        bot.stop()
        worker.stop()


def command_stats(url: str) -> dict[str, int]:
    """Calls per Redis command so far (INFO commandstats), scripts' own calls included."""
    import redis as redis_lib

    client = redis_lib.Redis.from_url(url)
    stats = client.info("commandstats")
    client.close()
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


def sampled(path: Path, orders: int, lines: int) -> str:
    """The sampling profile's functions by inclusive time, then by own time, per order."""
    data = json.loads(path.read_text())
    ms = 1000 * data["every"] / orders
    out = [f"{path.stem}: {data['total'] * ms:.1f} ms of wall time sampled per order"]
    for kind in ("inclusive", "own"):
        out.append(f"  by {kind} time (ms per order):")
        ranked = sorted(data[kind].items(), key=lambda kv: -kv[1])[:lines]
        out += [f"  {calls * ms:8.2f}  {name}" for name, calls in ranked]
    return "\n".join(out)


def top(path: Path, orders: int, lines: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    total = stats.total_tt  # type: ignore[attr-defined]
    out.write(f"{path.stem}: {total:.2f} s profiled, {1000 * total / orders:.2f} ms per order\n")
    stats.strip_dirs().sort_stats("tottime").print_stats(lines)
    stats.sort_stats("cumulative").print_stats(lines)
    return out.getvalue()


def main() -> None:
    engine = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    orders = int(sys.argv[2]) if len(sys.argv) > 2 else 150
    lines = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    keep = sys.argv[4] if len(sys.argv) > 4 else ""  # a folder to keep the .prof files in
    from bench._instrument import read_counts

    with tempfile.TemporaryDirectory() as tmp_name, run_in_thread(port=0) as sandbox:
        sandbox.client.set_limits(enabled=False)
        tmp = Path(tmp_name)
        redis = RedisServer(tmp, tmp).start()
        database_url, postgres = _database(engine, tmp)
        try:
            env = _env(redis.url, sandbox.url, sandbox.token, database_url)
            before = command_stats(redis.url)
            elapsed = place(sandbox.url, env, tmp, orders)
            after = command_stats(redis.url)
            print(f"== {engine}: {orders} orders in {elapsed:.1f} s (profiled, solo pool)")
            for role in ("bot", "worker"):
                counts = read_counts(tmp / f"counts-{role}")
                print(
                    f"{role}: per order {counts['sql'] / orders:.1f} SQL statements, "
                    f"{counts['commits'] / orders:.1f} commits, "
                    f"{counts['redis'] / orders:.1f} Redis round trips"
                )
            commands = {k: after[k] - before.get(k, 0) for k in after}
            print(f"Redis commands per order (server side): {sum(commands.values()) / orders:.1f}")
            for name, calls in sorted(commands.items(), key=lambda kv: -kv[1])[:25]:
                print(f"  {name:28s} {calls / orders:6.2f}")
            for role in ("bot", "worker"):
                statements = tmp / f"counts-{role}.sql"
                if statements.exists():
                    shapes = Counter(line.split(" ", 1)[1][:110] for line in statements.open())
                    print(f"{role} SQL per order:")
                    for shape, calls in shapes.most_common(25):
                        print(f"  {calls / orders:5.2f}  {shape.strip()}")
            for role in ("bot", "worker"):
                if os.environ.get("PROFILE_CLOCK") == "sample":
                    print(sampled(tmp / f"{role}.prof", orders, lines))
                else:
                    print(top(tmp / f"{role}.prof", orders, lines))
                if keep:
                    Path(keep).mkdir(parents=True, exist_ok=True)
                    shutil.copy(tmp / f"{role}.prof", Path(keep) / f"{role}.prof")
        finally:
            redis.stop()
            if postgres is not None:
                postgres.stop()


if __name__ == "__main__":
    main()
