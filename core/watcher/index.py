"""Which unfinished orders are stale, and which watcher run alerts them.

The claim is an indexed query of the system of record (`ix_orders_unfinished`: unfinished
orders by age), so the watcher's cost follows the number of newly stale
orders, not of all orders ever made, and there is no second index to keep in step. Each claimed
order records its run (`stale_run`) and alert time (`stale_alerted_at`) in the same update,
which also returns what the alerts need of it (`StaleOrder`): one transaction claims, marks
and reads a run's orders.
A run that claimed and has not finished has a row in `watcher_runs`, written in the same
transaction as its claims: a retry knows itself by that key, and a run that died is taken
over by a later one, whatever Redis lost meanwhile. Only the history is in Redis (what
/atrasados shows of the last run; losing it loses no alert):
  watcher:history      list   the latest finished runs, newest first (JSON)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Update,
    column,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from core.db.engine import insert
from core.db.models import OrderRow
from core.db.watcher import WatcherRunRow
from core.orders.model import Order
from core.orders.queries import STUCKABLE
from core.orders.states import OrderState
from core.orders.store import LAST_ERROR_FIELD, PREFIX, OrderStore

WATCH_HISTORY_KEY = f"{PREFIX}watcher:history"

WATCH_HISTORY = 50


@dataclass(frozen=True, slots=True)
class StaleOrder:
    """What a stale alert and a digest line need of a claimed order, and no more."""

    id: str
    chat_id: int
    state: OrderState
    created_at: float
    language: str
    # The failure code, else the latest error of a retried step, else "" (raw, one line later).
    error: str

    @classmethod
    def of(cls, order: Order) -> StaleOrder:
        error = order.error or order.extra.get(LAST_ERROR_FIELD, "")
        return cls(order.id, order.chat_id, order.state, order.created_at, order.language, error)


@dataclass(frozen=True)
class StaleClaim:
    """What one watcher run has to alert: its claimed orders, oldest first."""

    orders: list[StaleOrder]
    resumed: bool
    more: bool
    ids: list[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", [order.id for order in self.orders])


_UNFINISHED = OrderRow.finished_at == 0
# Only the columns the alerts and the digest show: a claim reads 1,000 short rows, not 1,000
# whole orders (their texts, money and JSON).
_COLUMNS = (
    OrderRow.id,
    OrderRow.chat_id,
    OrderRow.state,
    OrderRow.created_at,
    OrderRow.language,
    OrderRow.error,
    OrderRow.extra[LAST_ERROR_FIELD].as_string(),
)


_STATES = {state.value: state for state in OrderState}


def _stale_order(row: Sequence[Any]) -> StaleOrder:
    order_id, chat_id, state, created_at, language, error, last_error = row
    return StaleOrder(
        order_id, chat_id, _STATES[state], created_at, language, error or last_error or ""
    )


def _oldest_first(rows: Sequence[Sequence[Any]]) -> list[StaleOrder]:
    return sorted(map(_stale_order, rows), key=lambda order: (order.created_at, order.id))


def record_pending(session: Session, runs: Sequence[tuple[str, float]]) -> list[str]:
    """Record runs (id, latest attempt) as pending, each once; the ids that were not yet.

    INSERT … ON CONFLICT DO NOTHING: two attempts of one run at once (a redelivery beside a
    slow first attempt) find each other, the second after the first committed.
    """
    if not runs:
        return []
    statement = (
        insert(session.get_bind().dialect.name, WatcherRunRow)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(WatcherRunRow.id)
    )
    rows = [{"id": run, "started_at": at, "attempt_at": at} for run, at in runs]
    return list(session.scalars(statement, rows))


def _forget(session: Session, run_ids: Sequence[str]) -> None:
    """The runs are no longer pending (finished, taken over, or they claimed nothing)."""
    if run_ids:
        session.execute(
            delete(WatcherRunRow)
            .where(WatcherRunRow.id.in_(run_ids))
            .execution_options(synchronize_session=False)
        )


def _marking(
    postgres: bool, run_id: str, cutoff: float, limit: int, now: float
) -> tuple[Update, ColumnElement[int]]:
    """The update that marks the oldest `limit` unalerted stale orders as run `run_id`'s, and
    the column that says how many it picked.

    No list of ids goes back and forth. The update goes back to each picked row by its
    address (PostgreSQL's ctid, SQLite's rowid; the row is locked, so its address holds)
    instead of looking its id up in the primary key again. On PostgreSQL it picks one order
    past `limit`: whether it found one answers "more?" without walking the index twice.
    """
    # A system column of the table, not a mapped one (the table's, so SQLAlchemy sees the
    # update join it to `chosen`).
    address: ColumnClause[Any] = column(
        "ctid" if postgres else "rowid", _selectable=OrderRow.__table__
    )
    picked = (
        select(address.label("address"), OrderRow.created_at)
        .where(STUCKABLE, OrderRow.stale_alerted_at == 0, OrderRow.created_at <= cutoff)
        .order_by(OrderRow.created_at)
        .limit(limit + 1 if postgres else limit)
        # SKIP LOCKED: a concurrent run takes the next stale orders instead of waiting for
        # (and then losing) the same ones. SQLite serializes writers, so it needs none.
        .with_for_update(skip_locked=True)
        .cte("picked")
    )
    # The first `limit` of them, each with how many were picked (counted once).
    picked_count = select(func.count()).select_from(picked).scalar_subquery()
    chosen = (
        select(picked.c.address, picked_count.label("picked"))
        .order_by(picked.c.created_at)
        .limit(limit)
        .cte("chosen")
    )
    marked = (
        update(OrderRow)
        .where(address == chosen.c.address, OrderRow.stale_alerted_at == 0)
        .values(stale_alerted_at=now, stale_run=run_id)
    )
    return marked, chosen.c.picked


class StaleIndex:
    """Claims of stale orders for watcher runs (conditional updates), and the runs' history."""

    def __init__(self, store: OrderStore, client: redis.Redis) -> None:
        self.store = store
        self.redis = client

    def claim(
        self, run_id: str, cutoff: float, limit: int, now: float, adopt_before: float
    ) -> StaleClaim:
        """Claim for run `run_id` the unalerted orders created at or before `cutoff`.

        Concurrent runs never claim the same order (the update's condition is "not yet
        alerted"), and the same run asked again (a retry) gets the same orders. Claims of runs
        whose latest attempt began before `adopt_before` and never finished are taken over.
        """
        with self.store.db.transaction() as session:
            if not record_pending(session, [(run_id, now)]):
                # A retry: it resends what it claimed, and claims nothing new even when all
                # of that has finished since.
                session.execute(
                    update(WatcherRunRow)
                    .where(WatcherRunRow.id == run_id)
                    .values(attempt_at=now)
                    .execution_options(synchronize_session=False)
                )
                mine = self._claimed_by(session, run_id, cutoff)
                return StaleClaim(mine, resumed=True, more=self._more(session, cutoff))
            dead = list(
                session.scalars(
                    select(WatcherRunRow.id).where(
                        WatcherRunRow.attempt_at < adopt_before, WatcherRunRow.id != run_id
                    )
                )
            )
            adopted = self._adopt(session, dead, run_id)
            fresh, more = self._claim_fresh(session, run_id, cutoff, limit, now)
            rows = adopted + fresh
            # The dead runs' claims are this run's now; a run that claimed nothing has
            # nothing to finish.
            _forget(session, [*dead, run_id] if not rows else dead)
        return StaleClaim(_oldest_first(rows), resumed=False, more=more)

    @staticmethod
    def _adopt(session: Session, dead: list[str], run_id: str) -> list[Sequence[Any]]:
        """Take over the unfinished claims of runs that died; their rows."""
        if not dead:
            return []
        adopted = (
            update(OrderRow)
            .where(OrderRow.stale_run.in_(dead), _UNFINISHED)
            .values(stale_run=run_id)
            .returning(*_COLUMNS)
        )
        return [tuple(row) for row in session.connection().execute(adopted)]

    @staticmethod
    def _claim_fresh(
        session: Session, run_id: str, cutoff: float, limit: int, now: float
    ) -> tuple[list[Sequence[Any]], bool]:
        """Mark the oldest `limit` unalerted stale orders as this run's; their rows, and
        whether more are left for the next run (`_marking`: one statement finds, marks and
        reads them)."""
        postgres = session.get_bind().dialect.name == "postgresql"
        marked, picked = _marking(postgres, run_id, cutoff, limit, now)
        connection = session.connection()
        if not postgres:
            # SQLite's RETURNING reads only the updated table: "more?" is a second look.
            rows: list[Sequence[Any]] = [
                tuple(row) for row in connection.execute(marked.returning(*_COLUMNS))
            ]
            return rows, len(rows) >= limit and StaleIndex._more(session, cutoff)
        rows = [tuple(row) for row in connection.execute(marked.returning(*_COLUMNS, picked))]
        # Rows a concurrent run locked are that run's to claim: they do not count as more.
        more = bool(rows) and int(rows[0][-1]) > limit
        return [row[:-1] for row in rows], more

    @staticmethod
    def _claimed_by(session: Session, run_id: str, cutoff: float) -> list[StaleOrder]:
        # Only unfinished orders (a finished one is no longer stuck) old enough to be stale
        # (what a run claimed was, and a later cutoff is later still): the question stays on
        # the unfinished-orders index, past the young orders in flight, instead of scanning
        # every order ever made for its run.
        query = (
            select(*_COLUMNS)
            .where(
                _UNFINISHED,
                OrderRow.created_at <= cutoff,
                OrderRow.stale_run == run_id,
                OrderRow.stale_alerted_at > 0,
            )
            .order_by(OrderRow.created_at, OrderRow.id)
        )
        return [_stale_order(row) for row in session.connection().execute(query)]

    @staticmethod
    def _more(session: Session, cutoff: float) -> bool:
        query = (
            select(OrderRow.id)
            .where(STUCKABLE, OrderRow.stale_alerted_at == 0, OrderRow.created_at <= cutoff)
            # In the index's order: the planner then walks the index and stops, instead of
            # hoping a sequential scan meets a match early (it meets none when all are claimed).
            .order_by(OrderRow.created_at)
            .limit(1)
        )
        return session.connection().scalar(query) is not None

    def finish_run(self, run_id: str, record: dict[str, str | int | float]) -> None:
        """The run delivered everything: it is no longer pending; remember it in the history."""
        with self.store.db.transaction() as session:
            _forget(session, [run_id])
        pipe = self.redis.pipeline(transaction=True)
        pipe.lpush(WATCH_HISTORY_KEY, json.dumps({"run": run_id, **record}))
        pipe.ltrim(WATCH_HISTORY_KEY, 0, WATCH_HISTORY - 1)
        pipe.execute()

    def history(self, limit: int = WATCH_HISTORY) -> list[dict[str, str | int | float]]:
        """The latest finished watcher runs, newest first."""
        return [json.loads(raw) for raw in self.redis.lrange(WATCH_HISTORY_KEY, 0, limit - 1)]

    def stale_now(self, cutoff: float, limit: int) -> tuple[int, list[Order]]:
        """How many unfinished orders are stale now, alerted or not, and the oldest `limit`."""
        return self.store.stale(cutoff, limit)
