"""Time in each staff state, measured from orders' history rows; missed deadlines, from what
the deadline watcher recorded."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import insert

from core.db.deadlines import DeadlineBreachRow
from core.db.engine import Database
from core.db.models import IssuedOrderId, OrderEvent, OrderRow
from core.orders.states import OrderState
from core.reports.breaches import breaches, limits
from core.reports.period import Period, last_week, parse_period
from core.reports.staff_times import staff_times
from core.settings import Settings

DAY = Period(date(2026, 11, 23), date(2026, 11, 23), "UTC")
START = DAY.bounds()[0]
NOW = START + 20_000
S = OrderState
LIMITS = {S.ACEPTADO: 600.0, S.LISTO: 2700.0, S.ENTREGADO: 5400.0}


def order(db: Database, oid: str, reached: float, moves: list[tuple[float, OrderState]]) -> None:
    """An order that reaches the staff at `reached` and then moves at those seconds after."""
    path = [
        (reached - 60, S.PENDIENTE),
        (reached - 30, S.PREPARANDO_ENVIO),
        (reached, S.POR_ACEPTAR),
    ]
    path += [(reached + seconds, state) for seconds, state in moves]
    events, previous = [], ""
    for at, state in path:
        events.append(
            {"order_id": oid, "at": at, "from_state": previous, "to_state": state, "actor": "x"}
        )
        previous = state.value
    row = {"id": oid, "chat_id": 1, "user_id": 1, "text": "t", "state": path[-1][1].value}
    with db.transaction() as session:
        session.execute(insert(IssuedOrderId), [{"id": oid, "issued_at": reached}])
        session.execute(insert(OrderRow), [row | {"created_at": reached - 60, "updated_at": 0}])
        session.execute(insert(OrderEvent), events)


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    base = START + 1000
    # On time all the way, delivered.
    order(
        sqlite_db,
        "P-AAAAAA",
        base,
        [
            (300, S.ACEPTADO),
            (360, S.EN_PREPARACION),
            (1800, S.LISTO),
            (2000, S.EN_REPARTO),
            (4000, S.ENTREGADO),
            (4001, S.COMPLETADO),
        ],
    )
    # Accepted late (15 min) and ready late (50 min); picked up in time.
    order(
        sqlite_db,
        "P-BBBBBB",
        base,
        [
            (900, S.ACEPTADO),
            (960, S.EN_PREPARACION),
            (3000, S.LISTO),
            (3100, S.ENTREGADO),
            (3101, S.COMPLETADO),
        ],
    )
    # Rejected before any deadline: nothing missed.
    order(sqlite_db, "P-CCCCCC", base, [(400, S.CANCELADO)])
    # Still waiting 700 s after reaching the shop: the 10-minute deadline is missed already.
    order(sqlite_db, "P-DDDDDD", NOW - 700, [])
    # Accepted, then cancelled after the 45-minute deadline: that one was missed.
    order(sqlite_db, "P-EEEEEE", base, [(100, S.ACEPTADO), (3000, S.CANCELADO)])
    # Another day's order, late everywhere: not this period's.
    order(sqlite_db, "P-FFFFFF", START - 50_000, [(5000, S.ACEPTADO)])
    return sqlite_db


def breach(db: Database, oid: str, kind: str) -> None:
    """A missed phase as the deadline watcher records it (core.deadlines.store)."""
    row = {"order_id": oid, "kind": kind, "due_at": NOW - 100, "alerted_at": NOW - 90}
    with db.transaction() as session:
        session.execute(insert(DeadlineBreachRow), [row])


def test_breaches_count_what_the_deadline_watcher_recorded_for_the_periods_orders(
    db: Database,
) -> None:
    assert breaches(db, DAY) == {S.ACEPTADO: 0, S.LISTO: 0, S.ENTREGADO: 0}
    # As the watcher found them (opening hours, each phase from its own start): accepted and
    # ready late, one still waiting, one cancelled after its ready deadline, and another
    # day's order that is not this period's.
    for oid, kind in [
        ("P-BBBBBB", "accept"),
        ("P-BBBBBB", "ready"),
        ("P-DDDDDD", "accept"),
        ("P-EEEEEE", "ready"),
        ("P-FFFFFF", "accept"),
        ("P-FFFFFF", "deliver"),
    ]:
        breach(db, oid, kind)
    assert breaches(db, DAY) == {S.ACEPTADO: 2, S.LISTO: 2, S.ENTREGADO: 0}
    week = Period(date(2026, 11, 16), date(2026, 11, 29), "UTC")
    assert breaches(db, week) == {S.ACEPTADO: 3, S.LISTO: 2, S.ENTREGADO: 1}


def test_deadlines_come_from_the_settings_when_they_declare_them() -> None:
    assert limits(Settings()) == LIMITS


def test_average_time_in_each_staff_state_counts_finished_stays(db: Database) -> None:
    times = staff_times(db, DAY)
    # The waiting order's stay has not ended: it does not count yet.
    assert (times[S.POR_ACEPTAR].stays, times[S.POR_ACEPTAR].average) == (4, 425.0)
    assert times[S.ACEPTADO].stays == 3 and times[S.ACEPTADO].seconds == 60 + 60 + 2900
    assert (times[S.LISTO].stays, times[S.LISTO].average) == (2, 150.0)
    assert (times[S.EN_REPARTO].stays, times[S.EN_REPARTO].average) == (1, 2000.0)
    assert (times[S.ENTREGADO].stays, times[S.ENTREGADO].average) == (2, 1.0)


def test_named_periods() -> None:
    wednesday = date(2026, 12, 9)
    assert parse_period(["semana"], wednesday, "UTC") == Period(date(2026, 12, 7), wednesday, "UTC")
    assert parse_period(["MES"], wednesday, "UTC") == Period(date(2026, 12, 1), wednesday, "UTC")
    assert parse_period(["week"], date(2026, 12, 7), "UTC").days == [date(2026, 12, 7)]
    # The Monday job's week: the whole week before, Monday to Sunday.
    assert last_week(date(2026, 12, 7), "UTC") == Period(
        date(2026, 11, 30), date(2026, 12, 6), "UTC"
    )
    assert last_week(date(2026, 12, 13), "UTC").first == date(2026, 11, 30)
