"""The upgrade of the watcher's pending runs: they were a Redis sorted set
(`pedidos:watcher:pending`, run id → latest attempt) before `watcher_runs` (migration 0010).

A run that claimed orders and died before handing its alerts over is taken over by a later
run only if it is pending; copied here (`make migrate-redis`), those runs are, and their
orders get their alerts. Run again, it copies nothing twice."""

from __future__ import annotations

import redis

from core.db.engine import Database
from core.watcher.index import record_pending

OLD_PENDING_KEY = "pedidos:watcher:pending"


def copy_pending_runs(client: redis.Redis, db: Database) -> int:
    """Copy each run of the old pending set into `watcher_runs` once; how many were new."""
    pending: list[tuple[str, float]] = client.zrange(OLD_PENDING_KEY, 0, -1, withscores=True)  # type: ignore[assignment]
    with db.transaction() as session:
        return len(record_pending(session, [(str(run), float(at)) for run, at in pending]))
