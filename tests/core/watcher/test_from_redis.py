"""The watcher's pending runs of the Redis era reach `watcher_runs` once, and a run that died
there is taken over afterwards, its orders alerted."""

from __future__ import annotations

import redis
from sqlalchemy import delete

from core.db.engine import Database
from core.db.watcher import WatcherRunRow
from core.orders.states import OrderState
from core.orders.store import OrderStore
from core.watcher.from_redis import OLD_PENDING_KEY, copy_pending_runs
from core.watcher.index import StaleIndex
from core.watcher.watch import ADOPT_AFTER, Watcher

DAY = 24 * 3600.0
T0 = 1_700_000_000.0


class Messenger:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def send(self, chat_id: int, text: str, *, key: str) -> int | None:
        self.keys.append(key)
        return len(self.keys)


def test_a_run_pending_in_redis_is_copied_once_and_taken_over(
    redis_url: str, sqlite_db: Database
) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = OrderStore(sqlite_db, clock=lambda: T0 - 2 * DAY)
    order, _ = store.create(chat_id=10, user_id=10, text="pizza", source_message_id=1)
    assert store.get(order.id).state is OrderState.PENDIENTE
    # The old version's run claimed the order, recorded itself pending in Redis and died.
    StaleIndex(store, client).claim("old-run", T0 - DAY, 100, T0, adopt_before=0)
    with sqlite_db.transaction() as session:  # the old version kept no row of its runs
        session.execute(delete(WatcherRunRow))
    client.zadd(OLD_PENDING_KEY, {"old-run": T0})

    assert copy_pending_runs(client, sqlite_db) == 1
    assert copy_pending_runs(client, sqlite_db) == 0  # run again: nothing twice

    messenger = Messenger()
    watcher = Watcher(
        store=store,
        index=StaleIndex(store, client),
        messenger=messenger,
        admin_chat_ids=(),
        stale_after=DAY,
        clock=lambda: T0 + ADOPT_AFTER + 60,
    )
    report = watcher.run("new-run")
    assert report.claimed == 1
    assert messenger.keys == [f"order:{order.id}:stale"]
    client.close()
