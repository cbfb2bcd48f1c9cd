"""Stale-order watcher benchmark: one run over 1,000,000 stored orders, 1,000 of them stale,
against a full scan of the same data, in the same run.

Data: a fresh redis-server (AOF on, as in production) holds 1,000,000 orders written as the
store writes them (hash, chat index, open index), created over the last 90 days: 1,000 stale
(unfinished and older than STALE_AFTER), 1,000 young and still in flight, the rest finished.

Watcher run: `core.watcher.watch.Watcher.run` end to end (claim through the index, read the
orders, compose the admins' digest and 1,000 chat alerts, mark each one, record the run),
with a messenger that sends nowhere: what reaching Telegram costs is paced by Telegram's
limits, not by how stale orders are found. The state is reset between runs (not timed).

Full scan: what finding them without the index costs: SCAN every order hash and read its
state and creation time (pipelined), keeping the unfinished ones older than the cutoff.
Both must find the same 1,000 orders. Medians count.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from core.orders.model import ID_ALPHABET
from core.orders.states import FINAL_STATES, OrderState
from core.orders.store import OrderStore
from core.watcher import index
from core.watcher.index import ALERTED_FIELD, StaleIndex
from core.watcher.watch import Watcher
from tests.support.processes import RedisServer, wait_until

ORDERS = 1_000_000
STALE = 1_000
IN_FLIGHT = 1_000
CHATS = 200_000
HISTORY_DAYS = 90
STALE_AFTER = 24 * 3600.0
ADMINS = (-1001, 42)
BATCH = 1_000
RUN_REPEATS = 7
SCAN_REPEATS = 3
# Seconds since the start after which no further full scan begins.
SCAN_BUDGET = 100.0
GOAL_RATIO = 100.0
GOAL_RUN_SECONDS = 1.0
UNFINISHED = (OrderState.PENDIENTE, OrderState.VALIDANDO_PAGO, OrderState.PREPARANDO_ENVIO)
UNFINISHED_VALUES = frozenset(state.value for state in UNFINISHED)


class NullMessenger:
    """Accepts every message and sends it nowhere."""

    def __init__(self) -> None:
        self.sent = 0

    def send(self, chat_id: int, text: str, *, key: str) -> int | None:
        self.sent += 1
        return self.sent


def order_id(n: int) -> str:
    """The n-th id in the store's alphabet (P-222222, P-222223, ...): distinct and valid."""
    digits = []
    for _ in range(6):
        n, digit = divmod(n, len(ID_ALPHABET))
        digits.append(ID_ALPHABET[digit])
    return "P-" + "".join(reversed(digits))


# KEYS: open index. ARGV: order key prefix, chat key prefix, then id, chat id, created_at
# and state for each order. Writes what OrderStore.create and the state machine leave
# behind (Order.to_redis fields, the chat index, the open index for unfinished orders), on
# the server: sending every field from Python would make loading the slowest part by far.
_WRITE_ORDERS = """
local what = {'2 pizzas margarita', '1 empanada', '3 cafés y una tarta', 'menú del día'}
local final = {completado = true, fallido = true, cancelado = true}
for i = 3, #ARGV, 4 do
  local id, chat, created, state = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  local n = (i - 3) / 4
  local done = final[state]
  redis.call('HSET', ARGV[1] .. id,
    'id', id, 'chat_id', chat, 'user_id', chat, 'text', what[n % 4 + 1], 'state', state,
    'step', done and 3 or 1, 'progress', state == 'completado' and 100 or 33,
    'created_at', ARGV[i + 2], 'updated_at', tostring(created + 2),
    'finished_at', done and tostring(created + 5) or '0.0',
    'status_message_id', tostring(n + 2), 'task_id', 'c0ffee' .. id .. string.rep('0', 24),
    'error', state == 'fallido' and 'payment_declined:fondos insuficientes' or '',
    'language', n % 4 == 0 and 'en' or 'es')
  redis.call('ZADD', ARGV[2] .. chat, ARGV[i + 2], id)
  if not done then redis.call('ZADD', KEYS[1], ARGV[i + 2], id) end
end
return #ARGV
"""


def plan(now: float) -> list[tuple[str, int, float, str]]:
    """(id, chat, created_at, state) of every order, shuffled; ids in the store's alphabet."""
    rng = random.Random(1491)
    kinds = ["stale"] * STALE + ["in_flight"] * IN_FLIGHT + ["done"] * (ORDERS - STALE - IN_FLIGHT)
    rng.shuffle(kinds)
    orders = []
    for n, kind in enumerate(kinds):
        if kind == "stale":
            created = now - rng.uniform(STALE_AFTER + 3600, 30 * 86400)
        elif kind == "in_flight":
            created = now - rng.uniform(0, 3600)
        else:
            created = now - rng.uniform(0, HISTORY_DAYS * 86400)
        if kind == "done":
            roll = rng.random()
            state = "completado" if roll < 0.95 else "fallido" if roll < 0.98 else "cancelado"
        else:
            state = rng.choice(UNFINISHED).value
        orders.append((order_id(n), 10_000 + rng.randrange(CHATS), created, state))
    return orders


def load(client: redis.Redis, now: float) -> set[str]:
    """Write every order, BATCH to a script call, pipelined; the ids of the stale ones."""
    orders = plan(now)
    write = client.register_script(_WRITE_ORDERS)
    prefixes = [OrderStore.key(""), OrderStore.chat_key(0)[:-1]]
    pipe = client.pipeline(transaction=False)
    for start in range(0, len(orders), BATCH):
        args = [
            f"{part:.4f}" if isinstance(part, float) else part
            for order in orders[start : start + BATCH]
            for part in order
        ]
        write(keys=[OrderStore.OPEN_KEY], args=[*prefixes, *args], client=pipe)
        if start // BATCH % 10 == 9:
            pipe.execute()
    pipe.execute()
    cutoff = now - STALE_AFTER
    return {
        oid for oid, _, created, state in orders if state in UNFINISHED_VALUES and created <= cutoff
    }


def settle(client: redis.Redis) -> None:
    """Compact the AOF now, so no rewrite runs during a measurement."""
    wait_until(lambda: not _rewriting(client), 120, "an AOF rewrite to end")
    client.bgrewriteaof()
    wait_until(lambda: not _rewriting(client), 120, "the AOF rewrite to end")


def _rewriting(client: redis.Redis) -> bool:
    info = client.info("persistence")
    return bool(info["aof_rewrite_in_progress"] or info["aof_rewrite_scheduled"])


def full_scan(client: redis.Redis, cutoff: float) -> set[str]:
    """Every unfinished order created at or before `cutoff`, found without the index."""
    final = {state.value for state in FINAL_STATES}
    found: set[str] = set()
    prefix = OrderStore.key("")
    for keys in _scan_batches(client, f"{prefix}*"):
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(key, "state", "created_at")
        for key, (state, created) in zip(keys, pipe.execute(), strict=True):
            if state not in final and float(created) <= cutoff:
                found.add(key.removeprefix(prefix))
    return found


def _scan_batches(client: redis.Redis, pattern: str) -> Iterator[list[str]]:
    cursor = 0
    while True:
        cursor, keys = client.scan(cursor, match=pattern, count=1000)
        if keys:
            yield [str(key) for key in keys]
        if cursor == 0:
            return


def watcher_run(store: OrderStore, now: float, run_id: str, stale: set[str]) -> float:
    """Seconds for one watcher run; checks it alerted exactly the stale orders."""
    messenger = NullMessenger()
    watcher = Watcher(
        store=store,
        index=StaleIndex(store),
        messenger=messenger,
        admin_chat_ids=ADMINS,
        stale_after=STALE_AFTER,
        clock=lambda: now,
    )
    started = time.perf_counter()
    report = watcher.run(run_id)
    elapsed = time.perf_counter() - started
    claimed = set(store.redis.lrange(index.RUN_PREFIX + run_id, 0, -1))
    assert claimed == stale and report.alerted == STALE and not report.more, report
    assert messenger.sent > STALE, messenger.sent  # the alerts and the digests
    return elapsed


def reset(client: redis.Redis, stale: set[str], run_id: str) -> None:
    """Put the orders run `run_id` claimed back as never alerted (between runs, not timed)."""
    pipe = client.pipeline(transaction=True)
    pipe.zunionstore(OrderStore.OPEN_KEY, [OrderStore.OPEN_KEY, OrderStore.STALE_KEY])
    pipe.delete(
        OrderStore.STALE_KEY,
        index.PENDING_RUNS_KEY,
        index.WATCH_HISTORY_KEY,
        index.RUN_PREFIX + run_id,
    )
    for order in stale:
        pipe.hdel(OrderStore.key(order), f"x:{ALERTED_FIELD}")
    pipe.execute()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp), Path(tmp)).start()
        try:
            client = redis.Redis.from_url(server.url, decode_responses=True)
            store = OrderStore(client)
            now = time.time()
            started = time.perf_counter()
            stale = load(client, now)
            settle(client)
            memory = client.info("memory")["used_memory_human"]
            print(
                f"loaded {ORDERS:,} orders ({STALE:,} stale, {IN_FLIGHT:,} in flight) "
                f"in {time.perf_counter() - started:.0f} s; redis uses {memory}"
            )
            runs: list[float] = []
            scans: list[float] = []
            for repeat in range(RUN_REPEATS):
                # Keep the whole benchmark bounded on a slow machine: the first scan always.
                if len(scans) < SCAN_REPEATS and (
                    not scans or time.perf_counter() - started < SCAN_BUDGET
                ):
                    began = time.perf_counter()
                    found = full_scan(client, now - STALE_AFTER)
                    scans.append(time.perf_counter() - began)
                    assert found == stale, (len(found), len(stale))
                runs.append(watcher_run(store, now, f"bench-{repeat}", stale))
                reset(client, stale, f"bench-{repeat}")
            run, scan = statistics.median(runs), statistics.median(scans)
            ratio = scan / run
            print(f"watcher run (median of {len(runs)}): {run * 1000:.1f} ms")
            print(f"full scan   (median of {len(scans)}): {scan * 1000:.0f} ms")
            verdict = "OK" if ratio >= GOAL_RATIO else "BELOW GOAL"
            print(f"ratio: {ratio:.0f}x (goal >= {GOAL_RATIO:.0f}x) {verdict}")
            verdict = "OK" if run < GOAL_RUN_SECONDS else "SLOW"
            print(f"run: {run * 1000:.1f} ms (goal well under {GOAL_RUN_SECONDS:.0f} s) {verdict}")
            client.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
