"""Many orders written straight into the system of record's tables, for benchmarks and for
tests that need a database of some size: COPY on PostgreSQL, one executemany transaction on
SQLite. Each order is stored as OrderStore leaves it (its id issued, its columns), and, when
asked, with the history rows of the path that led to its state."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from core.db.engine import Database
from core.orders.model import ID_ALPHABET, ID_LENGTH
from core.orders.states import STEPS, OrderState

ORDER_COLUMNS = (
    "id",
    "chat_id",
    "user_id",
    "text",
    "state",
    "step",
    "progress",
    "created_at",
    "updated_at",
    "finished_at",
    "status_message_id",
    "task_id",
    "task_ids",
    "error",
    "language",
    "extra",
    "source",
    "stale_alerted_at",
    "stale_run",
    "version",
    "queued_epoch",
    "currency",
    "subtotal",
    "delivery_fee",
    "total",
    "payment_method",
    "stock_reserved",
)
HISTORY_COLUMNS = ("order_id", "at", "from_state", "to_state", "actor", "note")
WHAT = ("2 pizzas margarita", "1 empanada", "3 cafés y una tarta", "menú del día")


def order_id(n: int) -> str:
    """The n-th id in the store's alphabet (P-222222, P-222223, ...): distinct and valid."""
    digits = []
    for _ in range(ID_LENGTH):
        n, digit = divmod(n, len(ID_ALPHABET))
        digits.append(ID_ALPHABET[digit])
    return "P-" + "".join(reversed(digits))


def path_to(state: OrderState) -> list[OrderState]:
    """The states an order went through to reach `state` (a failure after the first step)."""
    if state is OrderState.COMPLETADO:
        return [OrderState.PENDIENTE, *STEPS, state]
    if state in STEPS:
        return [OrderState.PENDIENTE, *STEPS[: STEPS.index(state) + 1]]
    if state is OrderState.PENDIENTE:
        return [state]
    return [OrderState.PENDIENTE, STEPS[0], state]


def order_row(n: int, oid: str, chat: int, created: float, state: OrderState) -> tuple[Any, ...]:
    done = state.is_final
    return (
        oid,
        chat,
        chat,
        WHAT[n % len(WHAT)],
        state.value,
        len(path_to(state)) - 1,
        100 if state is OrderState.COMPLETADO else 33,
        created,
        created + 2,
        created + 5 if done else 0.0,
        n + 2,
        f"c0ffee{oid}",
        "",
        "payment_declined" if state is OrderState.FALLIDO else "",
        "en" if n % 4 == 0 else "es",
        "{}",
        None,
        0.0,
        "",
        len(path_to(state)),
        "",
        "",
        0,
        0,
        0,
        "",
        False,
    )


def history_rows(oid: str, created: float, state: OrderState) -> Iterator[tuple[Any, ...]]:
    previous = ""
    for step, reached in enumerate(path_to(state)):
        yield (oid, created + step, previous, reached.value, "system", "")
        previous = reached.value


def load(
    db: Database,
    orders: Iterable[tuple[str, int, float, OrderState]],
    history: bool = False,
    batch: int = 50_000,
) -> int:
    """Write `orders` (id, chat, created_at, state), `batch` per transaction; how many."""
    count = 0
    chunk: list[tuple[str, int, float, OrderState]] = []
    for order in orders:
        chunk.append(order)
        if len(chunk) == batch:
            count += _write(db, chunk, history, count)
            chunk = []
    if chunk:
        count += _write(db, chunk, history, count)
    return count


def _write(
    db: Database, chunk: Sequence[tuple[str, int, float, OrderState]], history: bool, base: int
) -> int:
    ids = [(oid, created) for oid, _, created, _ in chunk]
    rows = [order_row(base + i, *order) for i, order in enumerate(chunk)]
    events = (
        [row for oid, _, created, state in chunk for row in history_rows(oid, created, state)]
        if history
        else []
    )
    raw = db.engine.raw_connection()
    try:
        if db.dialect == "postgresql":
            _copy(raw.driver_connection, ids, rows, events)
        else:
            _executemany(raw.driver_connection, ids, rows, events)
    finally:
        raw.close()
    return len(chunk)


def _copy(conn: Any, ids: list[Any], rows: list[Any], events: list[Any]) -> None:
    with conn.cursor() as cursor:
        for table, columns, data in (
            ("order_ids", ("id", "issued_at"), ids),
            ("orders", ORDER_COLUMNS, rows),
            ("order_history", HISTORY_COLUMNS, events),
        ):
            if not data:
                continue
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in data:
                    copy.write_row(row)
    conn.commit()


def _executemany(conn: Any, ids: list[Any], rows: list[Any], events: list[Any]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO order_ids (id, issued_at) VALUES (?, ?)", ids)
    marks = ", ".join("?" * len(ORDER_COLUMNS))
    conn.executemany(f"INSERT INTO orders ({', '.join(ORDER_COLUMNS)}) VALUES ({marks})", rows)
    if events:
        marks = ", ".join("?" * len(HISTORY_COLUMNS))
        conn.executemany(
            f"INSERT INTO order_history ({', '.join(HISTORY_COLUMNS)}) VALUES ({marks})", events
        )
    conn.execute("COMMIT")
