"""Export benchmark: /exportar over 1,000,000 order lines against the leanest export of the
same rows with the csv module alone, on SQLite and PostgreSQL, in one run.
`python -m bench.exports [sqlite|postgresql ...]`.

Data: 250,000 orders of 4 lines each (1,000,000 lines) spread over 100 days, 80% of them paid
(one payment each), one in twenty of those refunded (done or due), one order text in a hundred
starting with `=`; written straight into the tables (COPY on PostgreSQL, executemany on SQLite).

Each measurement runs in a fresh process: its time, and its peak resident memory above what it
held before the export started (ru_maxrss minus VmRSS at the start: what the export itself
added, imports and connections excluded).

- export: core.reports.export.Exporter.run, as the task runs it (count, keyset pages with lines,
  payments and refunds, Decimal amounts, times in a zone, every cell through csvsafe, progress
  edits to a courier that drops them), writing both files; sending is left out (a courier that
  only measures the files, and zips the lines file as a send over Telegram's 50 MB would).
- baseline: the same two files' rows, each file one query (orders joined to their lines; orders
  joined to their payments) streamed through the driver's own cursor (a server-side one on
  PostgreSQL), every row handed to csv.writer as the driver returns it: no SQLAlchemy, refunds,
  amounts in major units, times in a zone or safety; the floor of writing those rows.

Three rounds, alternated; ratios are medians of each round's export ÷ baseline, in wall time
(goal: at most 2) and in CPU time of the exporting process (steadier on a shared machine; on
PostgreSQL the server's own work is not in it). Memory: what the export added over 100,000
lines (10 of the 100 days) and over 1,000,000 (goal: flat).
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench._system import each_database
from core.db.engine import Database
from core.db.schema import migrate
from core.orders.states import OrderState
from tests.support import bulk

ORDERS = 250_000
LINES_PER_ORDER = 4
DAYS = 100
SMALL_DAYS = 10
FIRST_DAY = date(2026, 1, 1)
BATCH = 25_000
GOAL_TIME = 2.0
ROUNDS = 3
LINE_COLUMNS = (
    "order_id",
    "position",
    "sku",
    "name_es",
    "name_en",
    "unit_price",
    "quantity",
    "line_total",
    "currency",
    "fulfilment",
)
PAYMENT_COLUMNS = (
    "id",
    "order_id",
    "user_id",
    "method",
    "currency",
    "total_amount",
    "telegram_payment_charge_id",
    "provider_payment_charge_id",
    "payload",
    "shipping_option_id",
    "created_at",
)
REFUND_COLUMNS = (
    "payment_id",
    "order_id",
    "method",
    "currency",
    "amount",
    "telegram_payment_charge_id",
    "provider_payment_charge_id",
    "status",
    "reason",
    "created_at",
    "done_at",
)
PRODUCTS = [(f"SKU{n:03d}", f"Producto {n}", f"Product {n}", 150 + 50 * n) for n in range(40)]
# Where the money columns sit in tests.support.bulk's order rows.
_AT = {name: bulk.ORDER_COLUMNS.index(name) for name in ("currency", "subtotal", "total")}
_METHOD = bulk.ORDER_COLUMNS.index("payment_method")
_TEXT = bulk.ORDER_COLUMNS.index("text")


# --- data ---------------------------------------------------------------------------------


def _start() -> float:
    return datetime.combine(FIRST_DAY, datetime.min.time(), UTC).timestamp()


def _chunk(base: int, count: int, rng: random.Random) -> dict[str, list[tuple[Any, ...]]]:
    """Orders base..base+count with their lines, payments and refunds, as table rows."""
    span = DAYS * 86400.0
    tables: dict[str, list[tuple[Any, ...]]] = {
        "order_ids": [],
        "orders": [],
        "order_lines": [],
        "payments": [],
        "refunds": [],
    }
    for n in range(base, base + count):
        oid = bulk.order_id(n)
        created = _start() + span * n / ORDERS  # spread evenly over the days, oldest first
        state = OrderState.COMPLETADO if n % 5 else OrderState.AWAITING_PAYMENT
        total = 0
        for position in range(LINES_PER_ORDER):
            sku, name_es, name_en, price = PRODUCTS[rng.randrange(len(PRODUCTS))]
            quantity = 1 + rng.randrange(3)
            total += price * quantity
            line = (oid, position, sku, name_es, name_en, price, quantity, price * quantity)
            tables["order_lines"].append((*line, "EUR", "manual"))
        row = list(bulk.order_row(n, oid, 10_000 + n % 50_000, created, state))
        row[_AT["currency"]], row[_AT["subtotal"]], row[_AT["total"]] = "EUR", total, total
        row[_METHOD] = "telegram"
        if n % 100 == 7:
            row[_TEXT] = '=HYPERLINK("http://x","y")'
        tables["order_ids"].append((oid, created))
        tables["orders"].append(tuple(row))
        if state is OrderState.AWAITING_PAYMENT:
            continue
        pid = len(tables["payments"]) + 1 + base
        charge = (f"tg-{n}", f"ch-{n}")
        tables["payments"].append(
            (pid, oid, row[2], "telegram", "EUR", total, *charge, "p", "", created + 30)
        )
        if n % 20 == 3:
            status = "done" if n % 40 == 3 else "due"
            tables["refunds"].append(
                (pid, oid, "telegram", "EUR", total, *charge, status, "bench", created + 60, 0.0)
            )
    return tables


COLUMNS = {
    "order_ids": ("id", "issued_at"),
    "orders": bulk.ORDER_COLUMNS,
    "order_lines": LINE_COLUMNS,
    "payments": PAYMENT_COLUMNS,
    "refunds": REFUND_COLUMNS,
}


def _write(db: Database, tables: dict[str, list[tuple[Any, ...]]]) -> None:
    raw = db.engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        if db.dialect == "postgresql":
            with conn.cursor() as cursor:
                for table, rows in tables.items():
                    columns = ", ".join(COLUMNS[table])
                    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            conn.commit()
            return
        conn.execute("BEGIN IMMEDIATE")
        for table, rows in tables.items():
            marks = ", ".join("?" * len(COLUMNS[table]))
            columns = ", ".join(COLUMNS[table])
            conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
        conn.execute("COMMIT")
    finally:
        raw.close()


def fill(url: str) -> None:
    db = Database(url)
    migrate(db)
    # Payment ids are given (so refunds can name them): payment n of the chunk starting at
    # `base` gets base + n + 1, unique because a chunk has fewer payments than orders.
    rng = random.Random(27)
    for base in range(0, ORDERS, BATCH):
        _write(db, _chunk(base, BATCH, rng))
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    db.dispose()


# --- one measurement (a child process) ------------------------------------------------------


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class _Courier:
    """Drops progress; measures the files instead of sending them."""

    def __init__(self) -> None:
        self.sizes: dict[str, int] = {}
        self.zip_seconds = 0.0
        self.zip_cpu = 0.0
        self.zipped_size = 0

    def send(self, chat_id: int, text: str, *, key: str) -> int:
        return 1

    def already_sent(self, key: str) -> int | None:
        return None

    def edit(self, chat_id: int, message_id: int, text: str, **_: Any) -> int:
        return message_id

    def send_file(self, chat_id: int, method: str, path: Path, **options: Any) -> int:
        from core.reports.export import zipped

        self.sizes[path.name] = path.stat().st_size
        if "lineas" in path.name:
            began, cpu = time.perf_counter(), time.process_time()
            self.zipped_size = zipped(path).stat().st_size
            self.zip_seconds = time.perf_counter() - began
            self.zip_cpu = time.process_time() - cpu
        return 2


def _export(url: str, days: int, workdir: str) -> dict[str, Any]:
    from core.reports.export import Exporter, ExportRequest
    from core.reports.period import Period

    db = Database(url)
    courier = _Courier()
    # UTC: the days are exactly the seeded ones (the times' zone costs the same in any).
    period = Period(FIRST_DAY, FIRST_DAY + timedelta(days=days - 1), "UTC")
    exporter = Exporter(db, courier, send_limit=1 << 62, workdir=workdir)
    request = ExportRequest(1, 1, period, "es", key="bench")
    before = _rss_kb()
    began, cpu = time.perf_counter(), time.process_time()
    done = exporter.run(request)
    seconds = time.perf_counter() - began - courier.zip_seconds
    cpu = time.process_time() - cpu - courier.zip_cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    db.dispose()
    return {
        "seconds": seconds,
        "cpu": cpu,
        "added_kb": peak - before,
        "lines": done.line_rows,
        "orders": done.orders,
        "sizes": courier.sizes,
        "zip_seconds": courier.zip_seconds,
        "zipped": courier.zipped_size,
    }


BASELINE_LINES = (
    "SELECT o.id, o.created_at, o.state, o.user_id, o.customer_name, l.position, l.sku,"
    " l.name_es, l.quantity, l.unit_price, l.line_total, o.delivery_fee, o.total,"
    " o.currency, o.payment_method"
    " FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id"
    " WHERE o.created_at >= {mark} AND o.created_at < {mark}"
    " ORDER BY o.created_at, o.id, l.position"
)
BASELINE_ORDERS = (
    "SELECT o.id, o.created_at, o.state, o.user_id, o.customer_name, o.text, o.subtotal,"
    " o.delivery_fee, o.total, o.currency, p.total_amount, o.payment_method,"
    " p.telegram_payment_charge_id, p.provider_payment_charge_id"
    " FROM orders o LEFT JOIN payments p ON p.order_id = o.id"
    " WHERE o.created_at >= {mark} AND o.created_at < {mark}"
    " ORDER BY o.created_at, o.id"
)


def _baseline(url: str, days: int, workdir: str) -> dict[str, Any]:
    db = Database(url)
    start = _start()
    end = start + days * 86400.0
    raw = db.engine.raw_connection()
    conn: Any = raw.driver_connection
    postgres = db.dialect == "postgresql"
    before = _rss_kb()
    began, cpu = time.perf_counter(), time.process_time()
    count = 0
    for name, query in (("lines", BASELINE_LINES), ("orders", BASELINE_ORDERS)):
        # The driver's own cursor, streaming: a named (server-side) one on PostgreSQL,
        # sqlite3's (which steps through the result as it is read) on SQLite.
        cursor = conn.cursor(name=name) if postgres else conn.cursor()
        with (Path(workdir) / f"{name}.csv").open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            cursor.execute(query.format(mark="%s" if postgres else "?"), (start, end))
            while rows := cursor.fetchmany(5000):
                writer.writerows(rows)
                count += len(rows) if name == "lines" else 0
        cursor.close()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    raw.close()
    db.dispose()
    return {"seconds": seconds, "cpu": cpu, "added_kb": peak - before, "lines": count}


def child(kind: str, url: str, days: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-export-") as workdir:
        measure = _export if kind == "export" else _baseline
        print(json.dumps(measure(url, days, workdir)))


def measure(kind: str, url: str, days: int) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.exports", "--child", kind, url, str(days)]
    done = subprocess.run(argv, check=True, capture_output=True, text=True, env=os.environ)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- the run --------------------------------------------------------------------------------


def bench(name: str, url: str) -> None:
    began = time.perf_counter()
    fill(url)
    lines = ORDERS * LINES_PER_ORDER
    print(
        f"[{name}] loaded {ORDERS:,} orders, {lines:,} lines in {time.perf_counter() - began:.0f} s"
    )
    # Alternated, three times each; the medians count (the machine is shared).
    runs: dict[str, list[dict[str, Any]]] = {"export": [], "baseline": []}
    for _ in range(ROUNDS):
        for kind in ("baseline", "export"):
            runs[kind].append(measure(kind, url, DAYS))
    export, baseline = runs["export"], runs["baseline"]
    wall = statistics.median(
        e["seconds"] / b["seconds"] for e, b in zip(export, baseline, strict=True)
    )
    cpu = statistics.median(e["cpu"] / b["cpu"] for e, b in zip(export, baseline, strict=True))
    verdict = "OK" if wall <= GOAL_TIME else "ABOVE GOAL"
    one = export[-1]
    print(
        f"[{name}] export of {one['lines']:,} line rows + {one['orders']:,} order rows: "
        f"{_spread(export, 'seconds')} s wall, {_spread(export, 'cpu')} s CPU; baseline "
        f"(the driver's rows straight into csv.writer): {_spread(baseline, 'seconds')} s wall, "
        f"{_spread(baseline, 'cpu')} s CPU"
    )
    print(
        f"[{name}] export / baseline: wall {wall:.2f}, CPU {cpu:.2f} (medians of the rounds' "
        f"ratios; goal <= {GOAL_TIME}) {verdict}"
    )
    small = measure("export", url, SMALL_DAYS)
    small_base = measure("baseline", url, SMALL_DAYS)
    big = max(e["added_kb"] for e in export)
    mb = 1024.0
    print(
        f"[{name}] memory added: export {small['added_kb'] / mb:.1f} MiB at "
        f"{small['lines']:,} lines, {big / mb:.1f} MiB at {one['lines']:,} "
        f"(x{big / max(small['added_kb'], 1):.2f} for x10 rows); baseline "
        f"{small_base['added_kb'] / mb:.1f} MiB and "
        f"{max(b['added_kb'] for b in baseline) / mb:.1f} MiB"
    )
    sizes = ", ".join(f"{n} {s / 1e6:.0f} MB" for n, s in one["sizes"].items())
    print(
        f"[{name}] files: {sizes}; the lines file zipped (over 50 MB: as sent) "
        f"{one['zipped'] / 1e6:.0f} MB in {one['zip_seconds']:.1f} s"
    )


def _spread(runs: list[dict[str, Any]], field: str) -> str:
    values = sorted(r[field] for r in runs)
    return f"{values[len(values) // 2]:.1f} ({values[0]:.1f}-{values[-1]:.1f})"


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if args[:1] == ["--child"]:
        child(args[1], args[2], int(args[3]))
        return
    for engine, url, _ in each_database(args, default=("sqlite", "postgresql")):
        bench(engine, url)


if __name__ == "__main__":
    main()
