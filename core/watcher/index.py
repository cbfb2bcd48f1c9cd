"""Which unfinished orders are stale, and which watcher run alerts them.

The claim is an indexed query of the system of record (`ix_orders_unfinished`: unfinished
orders by alert time and age), so the watcher's cost follows the number of newly stale
orders, not of all orders ever made, and there is no second index to keep in step. Each claimed
order records its run (`stale_run`) and alert time (`stale_alerted_at`) in the same update.
The runs themselves are in Redis (rebuildable: a lost run is adopted by the next one):
  watcher:pending      zset   runs that claimed and have not finished, by their latest attempt
  watcher:history      list   the latest finished runs, newest first (JSON)
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis
from sqlalchemy import select, update

from core.db.models import OrderRow
from core.orders.model import Order
from core.orders.store import PREFIX, OrderStore

PENDING_RUNS_KEY = f"{PREFIX}watcher:pending"
WATCH_HISTORY_KEY = f"{PREFIX}watcher:history"

# The order field (Order.extra) a run sets when it claims the order to alert it.
ALERTED_FIELD = "stale_alerted_at"
# A run's claimed ids outlive every retry of the run.
CLAIMS_TTL = 7 * 24 * 3600
WATCH_HISTORY = 50


@dataclass(frozen=True)
class StaleClaim:
    """What one watcher run has to alert: its claimed ids, oldest first."""

    ids: list[str]
    resumed: bool
    more: bool


_UNFINISHED = OrderRow.finished_at == 0


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
        alerted"), and the same run asked again (a retry) gets the same ids. Claims of runs
        whose latest attempt began before `adopt_before` and never finished are taken over.
        """
        mine = self._claimed_by([run_id])
        # A run that claimed and did not finish stays pending: asked again (a retry), it claims
        # nothing new even when all it had claimed has finished since.
        retried = self.redis.zscore(PENDING_RUNS_KEY, run_id) is not None
        self.redis.zadd(PENDING_RUNS_KEY, {run_id: now})
        if mine or retried:
            return StaleClaim(ids=mine, resumed=True, more=self._more(cutoff))
        dead = [str(r) for r in self.redis.zrangebyscore(PENDING_RUNS_KEY, "-inf", adopt_before)]
        dead = [r for r in dead if r != run_id]
        with self.store.db.transaction() as session:
            if dead:
                session.execute(
                    update(OrderRow)
                    .where(OrderRow.stale_run.in_(dead), _UNFINISHED)
                    .values(stale_run=run_id)
                    .execution_options(synchronize_session=False)
                )
            fresh = select(OrderRow.id).where(
                _UNFINISHED, OrderRow.stale_alerted_at == 0, OrderRow.created_at <= cutoff
            )
            # SKIP LOCKED: a concurrent run takes the next stale orders instead of waiting for
            # (and then losing) the same ones. SQLite serializes writers, so it needs none.
            fresh = fresh.order_by(OrderRow.created_at).limit(limit)
            ids = list(session.scalars(fresh.with_for_update(skip_locked=True)))
            if ids:
                session.execute(
                    update(OrderRow)
                    .where(OrderRow.id.in_(ids), OrderRow.stale_alerted_at == 0)
                    .values(stale_alerted_at=now, stale_run=run_id)
                    .execution_options(synchronize_session=False)
                )
        if dead:
            self.redis.zrem(PENDING_RUNS_KEY, *dead)
        claimed = self._claimed_by([run_id])
        if not claimed:
            self.redis.zrem(PENDING_RUNS_KEY, run_id)
        return StaleClaim(ids=claimed, resumed=False, more=self._more(cutoff))

    def _claimed_by(self, runs: list[str]) -> list[str]:
        # Only unfinished orders (a finished one is no longer stuck): the question stays on
        # the unfinished-orders index instead of scanning every order ever made for its run.
        query = (
            select(OrderRow.id)
            .where(OrderRow.stale_run.in_(runs), OrderRow.stale_alerted_at > 0, _UNFINISHED)
            .order_by(OrderRow.created_at)
        )
        with self.store.db.reading() as session:
            return list(session.scalars(query))

    def _more(self, cutoff: float) -> bool:
        query = (
            select(OrderRow.id)
            .where(_UNFINISHED, OrderRow.stale_alerted_at == 0, OrderRow.created_at <= cutoff)
            .limit(1)
        )
        with self.store.db.reading() as session:
            return session.scalar(query) is not None

    def finish_run(self, run_id: str, record: dict[str, str | int | float]) -> None:
        """The run delivered everything: it is no longer pending; remember it in the history."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(PENDING_RUNS_KEY, run_id)
        pipe.lpush(WATCH_HISTORY_KEY, json.dumps({"run": run_id, **record}))
        pipe.ltrim(WATCH_HISTORY_KEY, 0, WATCH_HISTORY - 1)
        pipe.execute()

    def history(self, limit: int = WATCH_HISTORY) -> list[dict[str, str | int | float]]:
        """The latest finished watcher runs, newest first."""
        return [json.loads(raw) for raw in self.redis.lrange(WATCH_HISTORY_KEY, 0, limit - 1)]

    def stale_now(self, cutoff: float, limit: int) -> tuple[int, list[Order]]:
        """How many unfinished orders are stale now, alerted or not, and the oldest `limit`."""
        return self.store.stale(cutoff, limit)
