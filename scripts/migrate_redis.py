"""`make migrate-redis`: copy the orders and photo jobs of the Redis stores (before the system
of record), and the watcher's pending runs, into DATABASE_URL's database, once each
(core.orders.from_redis, core.photos.from_redis, core.watcher.from_redis). Run it after
`make migrate`, with REDIS_URL pointing at the old Redis; safe to run again."""

from __future__ import annotations

import os
import sys

from core import redisconn
from core.db.connect import DatabaseUnavailable, open_checked
from core.orders.from_redis import copy_orders
from core.orders.store import OrderStore
from core.photos.from_redis import copy_photo_jobs
from core.photos.jobs import PhotoJobStore
from core.settings import Settings
from core.watcher.from_redis import copy_pending_runs
from scripts.migrate import with_default_database


def main() -> None:
    env = dict(os.environ)
    url = with_default_database(env)
    try:
        db = open_checked(url)
    except DatabaseUnavailable as exc:
        print(f"cannot copy: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    client = redisconn.connect(Settings.from_env(env))
    counts = copy_orders(client, OrderStore(db))
    print(
        f"orders copied from Redis: {counts.copied}; already in the database: {counts.skipped}; "
        f"unreadable: {counts.unreadable}"
    )
    jobs = copy_photo_jobs(client, PhotoJobStore(db))
    print(
        f"photo jobs copied from Redis: {jobs.copied}; already in the database: {jobs.skipped}; "
        f"unreadable: {jobs.unreadable}"
    )
    print(f"pending watcher runs copied from Redis: {copy_pending_runs(client, db)}")
    db.dispose()


if __name__ == "__main__":
    main()
