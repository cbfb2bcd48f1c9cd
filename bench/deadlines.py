"""Deadline watcher benchmark: one `vigilar_plazos` run over 200,000 stored orders with their
history (about a million history rows), 2,000 of them open in the human phases and 200 of
those past their deadline, against a full scan of the same data in the same run; on
PostgreSQL and SQLite. `python -m bench.deadlines [postgresql|sqlite ...]`.

Run: `core.deadlines.watch.DeadlineWatch.run` end to end (the overdue query per phase through
the open-orders index and the history, the breaches recorded, the alerts and customer messages
claimed and composed, the orders read; all 200 in the one run, where production claims 10 a
run), with a sender that sends nowhere; shop hours on
(`mon-sun 00:00-24:00` in Europe/Madrid, so the clock arithmetic runs). The breaches are deleted
between runs (not timed).

Full scan, the baseline: every order's id and state into Python, then the history of the open
ones in the human phases (the leanest a watcher without its query could do). Medians count;
every way must find the same 200 orders.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from sqlalchemy import delete, select, text

from bench._system import each_database
from core.db.deadlines import DeadlineBreachRow
from core.db.engine import Database
from core.db.models import OrderEvent, OrderRow
from core.db.schema import migrate
from core.deadlines.rules import PHASES, Deadlines
from core.deadlines.store import BreachStore
from core.deadlines.watch import DeadlineWatch
from core.orders.states import OrderState
from core.orders.store import OrderStore
from core.shophours.clock import ShopClock
from tests.support import bulk

ORDERS = 200_000
OPEN = 2_000
OVERDUE = 200
WITHIN = {OrderState.POR_ACEPTAR: 600.0, OrderState.ACEPTADO: 2700.0, OrderState.LISTO: 5400.0}
RUN_REPEATS = 7
SCAN_REPEATS = 3


class NullSender:
    def __init__(self) -> None:
        self.sent = 0

    def send(self, chat_id: int, text: str, *, key: str, **_: Any) -> int | None:
        self.sent += 1
        return self.sent


def plan(now: float) -> tuple[list[tuple[str, int, float, OrderState]], set[str]]:
    """Every order (id, chat, created, state), shuffled, and the ids of the overdue ones."""
    rng = random.Random(2026)
    kinds = ["overdue"] * OVERDUE + ["open"] * (OPEN - OVERDUE) + ["done"] * (ORDERS - OPEN)
    rng.shuffle(kinds)
    orders, overdue = [], set()
    for n, kind in enumerate(kinds):
        oid = bulk.order_id(n)
        if kind == "done":
            state = OrderState.COMPLETADO if rng.random() < 0.95 else OrderState.CANCELADO
            created = now - rng.uniform(0, 90 * 86400)
        else:
            state = rng.choice(list(WITHIN))
            # bulk's history enters the state 2 s after creation.
            late = rng.uniform(60, 3600) if kind == "overdue" else -rng.uniform(30, 500)
            created = now - WITHIN[state] - late - 2
            if kind == "overdue":
                overdue.add(oid)
        orders.append((oid, 10_000 + rng.randrange(50_000), created, state))
    return orders, overdue


def full_scan(db: Database, now: float) -> set[str]:
    """Without the query: every order's state, then the open human ones' history."""
    human = {state.value for state in WITHIN}
    with db.engine.connect() as conn:
        rows = conn.execute(select(OrderRow.id, OrderRow.state, OrderRow.finished_at))
        candidates = {
            oid: state for oid, state, finished in rows if state in human and not finished
        }
        found = set()
        entries = conn.execute(
            select(OrderEvent.order_id, OrderEvent.to_state, OrderEvent.at).where(
                OrderEvent.order_id.in_(list(candidates))
            )
        )
        for oid, to_state, at in entries:
            state = OrderState(to_state)
            if candidates[oid] == to_state and at + WITHIN[state] <= now:
                found.add(oid)
    return found


def one_run(db: Database, store: OrderStore, now: float, overdue: set[str]) -> float:
    deadlines = Deadlines(
        ShopClock.of("mon-sun 00:00-24:00", "Europe/Madrid"),
        accept=WITHIN[OrderState.POR_ACEPTAR],
        ready=WITHIN[OrderState.ACEPTADO],
        deliver=WITHIN[OrderState.LISTO],
        escalate_after=7200.0,
    )
    sender = NullSender()
    watch = DeadlineWatch(
        BreachStore(db), store, sender, deadlines, -100, (-200,), clock=lambda: now
    )
    watch.claims_per_run = OVERDUE  # the whole backlog in one run (production: 10 a run)
    began = time.perf_counter()
    report = watch.run()
    took = time.perf_counter() - began
    assert report.found == report.alerted == OVERDUE and sender.sent == 2 * OVERDUE, report
    with db.transaction() as session:
        found = set(session.scalars(select(DeadlineBreachRow.order_id)))
        session.execute(delete(DeadlineBreachRow))
    assert found == overdue
    return took


def bench(name: str, url: str) -> None:
    db = Database(url)
    migrate(db)
    store = OrderStore(db)
    now = time.time()
    orders, overdue = plan(now)
    began = time.perf_counter()
    bulk.load(db, orders, history=True, batch=50_000)
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    print(f"[{name}] loaded {ORDERS:,} orders with history in {time.perf_counter() - began:.0f} s")
    assert len(PHASES) == len(WITHIN)
    runs = [one_run(db, store, now, overdue) for _ in range(RUN_REPEATS)]
    scans = []
    for _ in range(SCAN_REPEATS):
        began = time.perf_counter()
        assert full_scan(db, now) == overdue
        scans.append(time.perf_counter() - began)
    run, scan = statistics.median(runs), statistics.median(scans)
    print(f"[{name}] deadline run (median of {RUN_REPEATS}): {run * 1000:.1f} ms")
    print(f"[{name}] full scan (median of {SCAN_REPEATS}): {scan * 1000:.0f} ms")
    print(f"[{name}] ratio: full scan / run = {scan / run:.1f}x")
    db.dispose()


def main(argv: list[str] | None = None) -> None:
    for name, url, _ in each_database(argv):
        bench(name, url)


if __name__ == "__main__":
    main()
