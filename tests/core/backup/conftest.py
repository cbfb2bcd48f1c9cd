"""What the backup tests share: a database with orders in it, an empty one to restore into,
and every row of a database to compare."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, select

from core.db.engine import Database, make_engine
from core.db.models import Customer, IssuedOrderId, OrderEvent, OrderRow
from core.orders.states import OrderState
from tests.support import bulk

TABLES = [cast(Table, m.__table__) for m in (IssuedOrderId, Customer, OrderRow, OrderEvent)]
Rows = dict[str, list[dict[str, Any]]]


def fill(url: str, count: int) -> None:
    """`count` orders, each with the history of its path, created over the last days."""
    rng = random.Random(7)
    states = list(OrderState)
    now = time.time()
    db = Database(url)
    try:
        bulk.load(
            db,
            (
                (bulk.order_id(n), 1000 + n % 50, now - rng.uniform(0, 9e5), rng.choice(states))
                for n in range(count)
            ),
            history=True,
        )
    finally:
        db.dispose()


def every_row(url: str) -> Rows:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: [
                    dict(row._mapping)
                    for row in conn.execute(select(table).order_by(*table.primary_key.columns))
                ]
                for table in TABLES
            }
    finally:
        engine.dispose()


def assert_consistent(rows: Rows) -> None:
    """Every order in `rows` has its id issued and the history that led to its state."""
    history: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in rows["order_history"]:
        history[event["order_id"]].append(event)
    issued = {row["id"] for row in rows["order_ids"]}
    for order in rows["orders"]:
        events = history.pop(order["id"], [])
        assert events, f"{order['id']} has no history"
        assert events[-1]["to_state"] == order["state"], (order, events)
        assert [e["from_state"] for e in events] == ["", *[e["to_state"] for e in events[:-1]]]
        assert order["id"] in issued
    assert not history, f"history of orders not in the copy: {sorted(history)[:5]}"


@pytest.fixture
def empty_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database on the same engine as `database_url` with nothing in it, not even tables."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.db'}"
    return str(request.getfixturevalue("postgres_server").new_database())
