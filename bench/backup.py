"""Backup benchmark: what a backup costs the orders being placed meanwhile, and how long a
backup and a restore of 1,000,000 orders take; on PostgreSQL and SQLite, in the same run.
`python -m bench.backup [postgresql|sqlite ...]`.

Data: a fresh, migrated database with 1,000,000 orders as the store leaves them, each with the
history of its path (about 4.7 rows an order), loaded with COPY or one executemany transaction.

Orders/s: one writer thread places orders the way the bot and the workers do (OrderStore.create,
then two state changes: three transactions an order, each with its history row) without pause.
In each round, its rate while `core.backup.copies.take_backup` runs (pg_dump --format=custom or
SQLite's online backup API, then the verification) is divided by its rate over a window of the
same length just before and just after (their mean): the ratio (goal >= 0.9). Medians count.

Then the last copy is restored (core.backup.restore) into an empty database, timed.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import text

from core.backup.copies import Copy, take_backup
from core.backup.restore import restore
from core.db.engine import Database
from core.db.schema import migrate
from core.orders.states import OrderState
from core.orders.store import OrderStore
from tests.support import bulk
from tests.support.postgres import PostgresServer

ORDERS = 1_000_000
ROUNDS = 3
GOAL_RATIO = 0.9
# A backup window shorter than this is measured against a baseline window of this length
# (a handful of orders is no rate).
MIN_WINDOW = 3.0


class Writer(threading.Thread):
    """Places orders and moves each two steps on, as fast as the database lets it."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.db = Database(url)
        self.store = OrderStore(self.db)
        self.stop = threading.Event()
        self.done: list[float] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        n = 0
        try:
            while not self.stop.is_set():
                order, _ = self.store.create(5 + n % 50, 5 + n % 50, f"pizza {n}", 10**9 + n)
                self.store.advance(order.id, OrderState.VALIDANDO_PAGO)
                self.store.advance(order.id, OrderState.PREPARANDO_ENVIO)
                self.done.append(time.monotonic())
                n += 1
        except BaseException as exc:
            self.error = exc
        finally:
            self.db.dispose()

    def rate(self, start: float, end: float) -> float:
        """Orders per second placed in [start, end)."""
        return sum(1 for t in list(self.done) if start <= t < end) / (end - start)


def fill(db: Database) -> None:
    rng = random.Random(23)
    states = list(OrderState)
    now = time.time()
    orders = (
        (bulk.order_id(n), 10_000 + n % 200_000, now - rng.uniform(0, 3e7), rng.choice(states))
        for n in range(ORDERS)
    )
    bulk.load(db, orders, history=True, batch=100_000)
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


def size_of(db: Database, url: str) -> int:
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            return int(
                conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            )
    path = Path(url.removeprefix("sqlite:///"))
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def rounds(url: str, backups: Path) -> tuple[list[float], list[Copy]]:
    writer = Writer(url)
    writer.start()
    ratios: list[float] = []
    taken: list[Copy] = []
    try:
        time.sleep(MIN_WINDOW)  # the writer's connections and caches warm
        for _ in range(ROUNDS):
            before_start = time.monotonic()
            time.sleep(
                taken[-1].seconds if taken and taken[-1].seconds > MIN_WINDOW else MIN_WINDOW
            )
            began = time.monotonic()
            copy = take_backup(url, backups, keep=2)
            ended = time.monotonic()
            time.sleep(max(MIN_WINDOW, ended - began))
            after_end = time.monotonic()
            during = writer.rate(began, ended)
            baseline = (writer.rate(before_start, began) + writer.rate(ended, after_end)) / 2
            ratios.append(during / baseline)
            taken.append(copy)
            print(
                f"  round: backup {copy.seconds:.1f} s, {during:.0f} orders/s during it, "
                f"{baseline:.0f} orders/s around it"
            )
    finally:
        writer.stop.set()
        writer.join(timeout=60)
    if writer.error is not None:
        raise writer.error
    return ratios, taken


def bench(name: str, url: str, empty_url: str, tmp: Path) -> None:
    db = Database(url)
    migrate(db)
    started = time.perf_counter()
    fill(db)
    took = time.perf_counter() - started
    print(f"[{name}] loaded {ORDERS:,} orders with their history in {took:.0f} s")
    print(f"[{name}] database size: {size_of(db, url) / 1024**2:.0f} MB")
    db.dispose()
    ratios, taken = rounds(url, tmp / f"backups-{name}")
    ratio = statistics.median(ratios)
    verdict = "OK" if ratio >= GOAL_RATIO else "BELOW GOAL"
    last = taken[-1]
    seconds = statistics.median(c.seconds for c in taken)
    megabytes = last.size / 1024**2
    print(f"[{name}] backup: {seconds:.1f} s (median of {len(taken)}), copy {megabytes:.0f} MB")
    print(
        f"[{name}] orders/s during a backup / without: {ratio:.2f} (goal >= {GOAL_RATIO}) {verdict}"
    )
    began = time.perf_counter()
    restore(last.path, empty_url)
    print(f"[{name}] restore into an empty database: {time.perf_counter() - began:.1f} s")


def durable(postgres: PostgresServer) -> None:
    """The tests' cluster skips fsync; production does not, and neither does this bench."""
    db = Database(postgres.url())
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ALTER SYSTEM SET fsync = on"))
        conn.execute(text("SELECT pg_reload_conf()"))
    db.dispose()


def main(argv: list[str] | None = None) -> None:
    engines = (argv if argv is not None else sys.argv[1:]) or ["postgresql", "sqlite"]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        postgres = PostgresServer().start() if "postgresql" in engines else None
        try:
            if postgres is not None:
                durable(postgres)
            for engine in engines:
                if engine == "postgresql" and postgres is not None:
                    bench(engine, postgres.new_database(), postgres.new_database(), tmp)
                else:
                    source, target = tmp / "pedidos.db", tmp / "restored.db"
                    bench(engine, f"sqlite:///{source}", f"sqlite:///{target}", tmp)
        finally:
            if postgres is not None:
                postgres.stop()


if __name__ == "__main__":
    main()
