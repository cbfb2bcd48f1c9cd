"""Stale-order watcher benchmark: one run over 1,000,000 stored orders, 1,000 of them stale,
against a full scan of the same data, in the same run; on PostgreSQL (the production engine)
and SQLite (the embedded default). `python -m bench.watcher [postgresql|sqlite ...]`.

Data: a fresh database (migrated, PostgreSQL's throwaway cluster of the tests) holds 1,000,000
orders written as the store leaves them, created over the last 90 days: 1,000 stale
(unfinished and older than STALE_AFTER), 1,000 young and still in flight, the rest finished.
Loaded with COPY (PostgreSQL) or one executemany transaction (SQLite), then ANALYZEd.

Watcher run: `core.watcher.watch.Watcher.run` end to end, as the worker runs it (claim through
the unfinished-orders index: one statement finds, marks and reads the 1,000 stale orders;
compose the admins' digest and send it; compose the 1,000 chat alerts and hand them over in
one batch, as to tasks.watcher's outbox; record the run), with a messenger and an outbox that
send nowhere: what reaching Telegram costs is paced by Telegram's limits (the alert tasks'
time), not by how stale orders are found. The claims are reset between runs (not timed).

Full scan, what finding them costs without the index: every order's id, state and creation
time read into Python and filtered there (the leanest a store without a stale query could do;
the ratio's baseline). Also printed: the same reading every order whole (every column, mapped
to an Order as the store does, one streamed query), and the database's side of it: the
stale question as one query with index scans turned off (a sequential scan of every row)
against that query through the index.
Every way must find the same 1,000 orders. Medians count.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import Engine, select, text, update

from core.db.engine import Database
from core.db.models import OrderRow
from core.db.schema import migrate
from core.orders.rows import to_order
from core.orders.states import FINAL_STATES, OrderState
from core.orders.store import OrderStore
from core.watcher import index
from core.watcher.alerts import StaleAlert
from core.watcher.index import StaleIndex
from core.watcher.watch import Watcher
from tests.support import bulk
from tests.support.postgres import PostgresServer
from tests.support.processes import RedisServer

ORDERS = 1_000_000
STALE = 1_000
IN_FLIGHT = 1_000
CHATS = 200_000
HISTORY_DAYS = 90
STALE_AFTER = 24 * 3600.0
ADMINS = (-1001, 42)
RUN_REPEATS = 7
SCAN_REPEATS = 3
QUERY_REPEATS = 5
GOAL_RATIO = 100.0
GOAL_RUN_SECONDS = 1.0
UNFINISHED = (OrderState.PENDIENTE, OrderState.VALIDANDO_PAGO, OrderState.PREPARANDO_ENVIO)
FINAL_VALUES = frozenset(state.value for state in FINAL_STATES)
# The stale question as SQL, with and without leave to use an index.
STALE_QUERY = (
    "SELECT id FROM orders WHERE finished_at = 0 AND stale_alerted_at = 0 "
    "AND created_at <= :cutoff ORDER BY created_at LIMIT :limit"
)
# PostgreSQL told to use no index for one transaction (SQLite: `NOT INDEXED` in the query).
NO_INDEX = (
    "SET LOCAL enable_indexscan = off",
    "SET LOCAL enable_bitmapscan = off",
    "SET LOCAL enable_indexonlyscan = off",
)


class NullMessenger:
    """Accepts every message and sends it nowhere."""

    def __init__(self) -> None:
        self.sent = 0

    def send(self, chat_id: int, text: str, *, key: str) -> int | None:
        self.sent += 1
        return self.sent


class NullOutbox:
    """Takes every batch of alerts and sends them nowhere."""

    def __init__(self) -> None:
        self.handed = 0

    def hand_over(self, run_id: str, alerts: Sequence[StaleAlert]) -> None:
        self.handed += len(alerts)


def plan(now: float) -> list[tuple[str, int, float, OrderState]]:
    """(id, chat, created_at, state) of every order, shuffled; ids in the store's alphabet."""
    rng = random.Random(1491)
    kinds = ["stale"] * STALE + ["in_flight"] * IN_FLIGHT + ["done"] * (ORDERS - STALE - IN_FLIGHT)
    rng.shuffle(kinds)
    orders = []
    for n, kind in enumerate(kinds):
        if kind == "stale":
            created = now - rng.uniform(STALE_AFTER + 3600, 30 * 86400)
        elif kind == "in_flight":
            created = now - rng.uniform(0, 3600)
        else:
            created = now - rng.uniform(0, HISTORY_DAYS * 86400)
        if kind == "done":
            roll = rng.random()
            state = (
                OrderState.COMPLETADO
                if roll < 0.95
                else OrderState.FALLIDO
                if roll < 0.98
                else OrderState.CANCELADO
            )
        else:
            state = rng.choice(UNFINISHED)
        orders.append((bulk.order_id(n), 10_000 + rng.randrange(CHATS), created, state))
    return orders


def load(db: Database, now: float) -> set[str]:
    """Write every order; the ids of the stale ones."""
    orders = plan(now)
    bulk.load(db, orders, history=False, batch=100_000)
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    cutoff = now - STALE_AFTER
    return {oid for oid, _, created, state in orders if not state.is_final and created <= cutoff}


def full_scan(engine: Engine, cutoff: float) -> set[str]:
    """Every unfinished order created at or before `cutoff`, found without the index."""
    found = set()
    with engine.connect() as conn:
        rows = conn.execute(select(OrderRow.id, OrderRow.state, OrderRow.created_at))
        for order_id, state, created in rows:
            if state not in FINAL_VALUES and created <= cutoff:
                found.add(order_id)
    return found


def store_scan(store: OrderStore, cutoff: float) -> set[str]:
    """The same reading every order whole, as the store maps a row (`to_order`), in one
    streamed query: what a watcher without its stale query would have to do."""
    found: set[str] = set()
    with store.db.reading() as session:
        rows = session.scalars(select(OrderRow).execution_options(yield_per=5_000))
        for row in rows:
            order = to_order(row)
            if not order.is_final and order.created_at <= cutoff:
                found.add(order.id)
            session.expunge(row)
    return found


def stale_query(engine: Engine, cutoff: float, indexed: bool) -> set[str]:
    """The stale question as one query, through the index or (indexed=False) a full scan."""
    query = STALE_QUERY
    with engine.connect() as conn:
        if not indexed and engine.dialect.name == "sqlite":
            query = query.replace("FROM orders", "FROM orders NOT INDEXED")
        elif not indexed:
            for statement in NO_INDEX:
                conn.execute(text(statement))
        rows = conn.execute(text(query), {"cutoff": cutoff, "limit": 10 * STALE})
        found = {row[0] for row in rows}
        conn.rollback()
    return found


def watcher_run(
    store: OrderStore, client: redis.Redis, now: float, run_id: str, stale: set[str]
) -> float:
    """Seconds for one watcher run; checks it alerted exactly the stale orders."""
    messenger, outbox = NullMessenger(), NullOutbox()
    watcher = Watcher(
        store=store,
        index=StaleIndex(store, client),
        messenger=messenger,
        admin_chat_ids=ADMINS,
        stale_after=STALE_AFTER,
        clock=lambda: now,
        outbox=outbox,
    )
    started = time.perf_counter()
    report = watcher.run(run_id)
    elapsed = time.perf_counter() - started
    with store.db.reading() as session:
        claimed = set(session.scalars(select(OrderRow.id).where(OrderRow.stale_run == run_id)))
    assert claimed == stale and report.alerted == STALE and not report.more, report
    assert outbox.handed == STALE, outbox.handed  # every chat's alert
    assert messenger.sent >= len(ADMINS), messenger.sent  # the digests
    return elapsed


def reset(store: OrderStore, client: redis.Redis, run_id: str) -> None:
    """Put the orders run `run_id` claimed back as never alerted (between runs, not timed)."""
    with store.db.transaction() as session:
        session.execute(
            update(OrderRow)
            .where(OrderRow.stale_run == run_id)
            .values(stale_alerted_at=0.0, stale_run="")
            .execution_options(synchronize_session=False)
        )
    client.delete(index.WATCH_HISTORY_KEY)


def timed(repeats: int, measure: Callable[[], Any], expected: set[str]) -> float:
    """The median seconds of `measure`, which must find `expected` every time."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        found = measure()
        times.append(time.perf_counter() - began)
        assert found == expected, (len(found), len(expected))
    return statistics.median(times)


def bench(name: str, url: str, client: redis.Redis) -> None:
    db = Database(url)
    migrate(db)
    store = OrderStore(db)
    now = time.time()
    started = time.perf_counter()
    stale = load(db, now)
    took = time.perf_counter() - started
    print(f"[{name}] loaded {ORDERS:,} orders ({STALE:,} stale, {IN_FLIGHT:,} in flight)", end="")
    print(f" in {took:.0f} s")
    cutoff = now - STALE_AFTER
    runs = []
    for repeat in range(RUN_REPEATS):
        runs.append(watcher_run(store, client, now, f"bench-{repeat}", stale))
        reset(store, client, f"bench-{repeat}")
    run = statistics.median(runs)
    scan = timed(SCAN_REPEATS, lambda: full_scan(db.engine, cutoff), stale)
    seq = timed(QUERY_REPEATS, lambda: stale_query(db.engine, cutoff, indexed=False), stale)
    indexed = timed(QUERY_REPEATS, lambda: stale_query(db.engine, cutoff, indexed=True), stale)
    through_store = timed(1, lambda: store_scan(store, cutoff), stale)
    ratio = scan / run
    print(f"[{name}] watcher run (median of {len(runs)}): {run * 1000:.1f} ms")
    print(f"[{name}] full scan   (median of {SCAN_REPEATS}): {scan * 1000:.0f} ms")
    verdict = "OK" if ratio >= GOAL_RATIO else "BELOW GOAL"
    print(f"[{name}] ratio: {ratio:.0f}x (goal >= {GOAL_RATIO:.0f}x) {verdict}")
    print(
        f"[{name}] full scan of whole orders (as the store maps them, once): "
        f"{through_store:.1f} s, {through_store / run:.0f}x the run"
    )
    verdict = "OK" if run < GOAL_RUN_SECONDS else "SLOW"
    print(f"[{name}] run: {run * 1000:.1f} ms (goal well under {GOAL_RUN_SECONDS:.0f} s) {verdict}")
    print(
        f"[{name}] the stale query alone: {seq * 1000:.1f} ms as a sequential scan, "
        f"{indexed * 1000:.2f} ms through the index ({seq / indexed:.0f}x)"
    )
    db.dispose()


def main(argv: list[str] | None = None) -> None:
    engines = (argv if argv is not None else sys.argv[1:]) or ["postgresql", "sqlite"]
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp), Path(tmp)).start()
        postgres = PostgresServer().start() if "postgresql" in engines else None
        try:
            client = redis.Redis.from_url(server.url, decode_responses=True)
            for name in engines:
                if name == "postgresql" and postgres is not None:
                    url = postgres.new_database()
                else:
                    url = f"sqlite:///{Path(tmp) / 'pedidos.db'}"
                bench(name, url, client)
                client.flushdb()
            client.close()
        finally:
            server.stop()
            if postgres is not None:
                postgres.stop()


if __name__ == "__main__":
    main()
