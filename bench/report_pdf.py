"""The weekly PDF report over a week of 10,000 orders (lines, payments, refunds, staff history),
on PostgreSQL and SQLite: the whole report (read, measure, lay out, write) against a bare read
of the rows it sums, in the same run; and where its time goes.

The baseline reads into Python every row the report summarises (the week's payments and
refunds, its orders' lines and their history) and adds the money up: the least any report of
those rows could cost. The ratio says what the report's queries, statistics and PDF add.

`python -m bench.report_pdf [postgresql|sqlite ...]`
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import text

from bench._system import each_database
from core.db.engine import Database
from core.db.schema import migrate
from core.reports.breaches import DEADLINES, breaches
from core.reports.figures import read_figures
from core.reports.pdf import Setup, write_report
from core.reports.period import Period
from core.reports.staff_times import staff_times
from tests.support.shop_week import seed_week

ORDERS = 10_000
ROUNDS = 3
WEEK = Period(date(2026, 11, 23), date(2026, 11, 29), "Europe/Madrid")
LIMITS = {state: default for state, (_, default) in DEADLINES.items()}
BARE = (
    "SELECT created_at, currency, total_amount FROM payments "
    "WHERE created_at >= :start AND created_at < :end",
    "SELECT created_at, currency, amount FROM refunds "
    "WHERE created_at >= :start AND created_at < :end",
    "SELECT l.sku, l.quantity, l.line_total FROM order_lines l JOIN orders o "
    "ON o.id = l.order_id WHERE o.created_at >= :start AND o.created_at < :end",
    "SELECT h.order_id, h.at, h.from_state, h.to_state FROM order_history h JOIN orders o "
    "ON o.id = h.order_id WHERE o.created_at >= :start AND o.created_at < :end",
)


def bare_read(db: Database) -> int:
    start, end = WEEK.bounds()
    total = 0
    with db.reading() as session:
        for query in BARE:
            for row in session.execute(text(query), {"start": start, "end": end}):
                total += row[2] if isinstance(row[2], int) else 1
    return total


def best(work: Callable[[], object]) -> float:
    """The median of ROUNDS timed runs, in seconds."""
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench(name: str, url: str, tmp: Path) -> None:
    db = Database(url)
    migrate(db)
    started = time.perf_counter()
    seed_week(db, WEEK.bounds()[0], ORDERS)
    print(f"{name}: seeded {ORDERS} orders in {time.perf_counter() - started:.1f} s")
    setup = Setup("La Pizzería", "EUR", "es", LIMITS, WEEK.bounds()[1] + 86400)
    path = tmp / f"informe-{name}.pdf"
    report = best(lambda: write_report(db, WEEK, setup, path))
    baseline = best(lambda: bare_read(db))
    parts = {
        "figures": best(lambda: read_figures(db, WEEK, "EUR", "es")),
        "staff times": best(lambda: staff_times(db, WEEK)),
        "breaches": best(lambda: breaches(db, WEEK)),
    }
    print(
        f"{name}: report {report * 1000:.0f} ms ({path.stat().st_size // 1024} KB) ÷ bare read "
        f"{baseline * 1000:.0f} ms = {report / baseline:.2f}; "
        + ", ".join(f"{part} {seconds * 1000:.0f} ms" for part, seconds in parts.items())
        + f", layout and writing {max(0.0, report - sum(parts.values())) * 1000:.0f} ms"
    )
    db.dispose()


def main(argv: list[str] | None = None) -> None:
    for name, url, tmp in each_database(argv):
        bench(name, url, tmp)


if __name__ == "__main__":
    main()
