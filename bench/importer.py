"""Import benchmark.

Part 1, in this process: a 10,000-row CSV through `importar_datos`'s code. A fresh
redis-server (broker and store) and the sandbox; the admin uploads the file as a document and
the importer downloads it through getFile, exactly as the task does (no worker runs: each
order's announcement is published on `bulk` and left queued).

- rows/s of the import, as a ratio to the baseline of the same run: the naive way, the same
  rows read into memory and each stored with OrderStore.create and started with
  tasks.orders.enqueue_order (what /pedido does per order). Both are one order action per row
  now; the import adds the row's match and its announcement;
- peak Python memory of an import of ROWS_SMALL and of ROWS_LARGE rows (tracemalloc, a run
  of its own): streamed, their ratio stays near 1 while the file grows tenfold;
- editMessageText calls per second during the import (the progress bar: at most 1/s).

Part 2, real processes (redis-server, the bot, the workers, the sandbox with Telegram's
limits): a customer's /pedido, from the message to its "completado", SAMPLES times without
an import (the baseline) and SAMPLES times while FAIR_ROWS rows are being imported and
announced to their customers, every row paid in cash so that each starts its chain; printed
as the ratio of the medians (goal: near 1), with the `orders` and `bulk` queue lengths seen
meanwhile. Run with the deployments' two workers (`worker`: every queue but imports;
`worker_bulk`: imports,bulk, two processes under nice), then with one worker consuming every
queue; and, for comparison, the design this replaced: BEFORE_ORDERS imported orders' chains
published on `orders` ahead of the customer.

`python -m bench.importer in-process` runs part 1 alone, `… customers` part 2, `… before` the
comparison.
"""

from __future__ import annotations

import csv
import io
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import redis

from sandbox import run_in_thread
from sandbox.client import Chat
from tests.support.processes import RedisServer, wait_until

ROWS = 10_000
ROWS_SMALL = 2_000
ROWS_LARGE = 20_000
ADMIN = 9_999


def csv_bytes(rows: int, salt: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["chat_id", "texto", "idioma"])
    for n in range(rows):
        writer.writerow([100_000 + n % 500, f"pedido {salt} número {n}: 2 pizzas margarita", "es"])
    return out.getvalue().encode()


def main() -> None:
    saved = dict(os.environ)
    try:
        in_process()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    customers_during_import(shared_worker=False)
    customers_during_import(shared_worker=True)
    customers_before()


def in_process() -> None:
    """Part 1 (module doc)."""
    from core.db.engine import Database
    from core.db.schema import migrate

    with tempfile.TemporaryDirectory() as tmp_name, run_in_thread(port=0) as sandbox:
        tmp = Path(tmp_name)
        (tmp / "redis").mkdir()
        server = RedisServer(tmp / "redis", tmp).start()
        database_url = f"sqlite:///{tmp / 'pedidos.db'}"
        migrate(Database(database_url))
        try:
            os.environ.update(
                DATABASE_URL=database_url,
                REDIS_URL=server.url,
                TELEGRAM_API_URL=sandbox.url,
                TELEGRAM_BOT_TOKEN=sandbox.token,
                IMPORT_MAX_ROWS=str(ROWS_LARGE),
                IMPORT_MAX_BYTES="50MB",
                LOG_LEVEL="WARNING",
                # Our own cost is measured, not Telegram's pace (bench.delivery measures that).
                RATE_GLOBAL_PER_SECOND="100000",
                RATE_CHAT_PER_SECOND="100000",
                RATE_CHAT_BURST="100000",
            )
            # As in a worker process: sending a task does not subscribe to its result (the
            # Redis backend would, in a plain client process, for every chain published).
            from celery._state import _set_task_join_will_block

            _set_task_join_will_block(True)
            run(sandbox.client.private_chat(user_id=ADMIN, first_name="Ana"), sandbox.client)
        finally:
            server.stop()


def upload(admin: Chat, rows: int, salt: str) -> str:
    """A new import job for a CSV of `rows` rows the admin sends; its id."""
    from core.importer.jobs import ImportJobs
    from tasks import clients, delivery

    data = csv_bytes(rows, salt)
    sent = admin.send_document(data, mime_type="text/csv", file_name=f"{salt}.csv")
    status = admin.send(f"estado de {salt}")  # a message to edit, as the bot's reply would be
    document = sent.media[0]
    jobs = ImportJobs(clients.redis_client())
    job, _ = jobs.create(
        ADMIN, ADMIN, document.file_id, f"{salt}.csv", len(data), sent.message_id, "es"
    )
    bot_status = delivery.courier().send(ADMIN, f"📥 {salt}", key=f"bench:{salt}")
    jobs.update(job.id, status_message_id=bot_status or status.message_id)
    return job.id


def naive(rows: int) -> float:
    """Rows/s of the per-order path: create and enqueue one order at a time."""
    from tasks import context as ctx
    from tasks.orders import enqueue_order

    reader = csv.DictReader(io.StringIO(csv_bytes(rows, "naive").decode()))
    store = ctx.store()
    start = time.perf_counter()
    for number, row in enumerate(reader):
        order, _ = store.create(
            int(row["chat_id"]), int(row["chat_id"]), row["texto"], number, "es"
        )
        enqueue_order(order.id)
    return rows / (time.perf_counter() - start)


def run(admin: Chat, sandbox: object) -> None:
    from tasks import clients
    from tasks.importer import importer

    client = admin.client
    # Speed.
    job_id = upload(admin, ROWS, "speed")
    client.reset_counters()
    start = time.perf_counter()
    job = importer().run(job_id)
    elapsed = time.perf_counter() - start
    edits = client.counters()["calls"].get("editMessageText", 0)
    assert job is not None and job.created == ROWS, job
    rate = ROWS / elapsed
    baseline = naive(ROWS)
    broker = clients.redis_client()
    # Every order announced on `bulk` (the import's), every naive chain on `orders`.
    assert (broker.llen("bulk"), broker.llen("orders")) == (ROWS, ROWS)
    print(
        f"import {ROWS} rows: {rate:,.0f} rows/s in {elapsed:.1f} s; naive per-order path "
        f"{baseline:,.0f} rows/s; ratio {rate / baseline:.2f}"
    )
    print(f"progress edits: {edits} in {elapsed:.1f} s = {edits / elapsed:.2f} edits/s")

    # Memory: a tenfold file, the same peak.
    peaks = {}
    for rows in (ROWS_SMALL, ROWS_LARGE):
        job_id = upload(admin, rows, f"mem{rows}")
        tracemalloc.start()
        job = importer().run(job_id)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert job is not None and job.created == rows
        peaks[rows] = peak
    ratio = peaks[ROWS_LARGE] / peaks[ROWS_SMALL]
    print(
        f"peak memory: {peaks[ROWS_SMALL] / 1024:,.0f} KiB for {ROWS_SMALL} rows, "
        f"{peaks[ROWS_LARGE] / 1024:,.0f} KiB for {ROWS_LARGE} rows: ratio {ratio:.2f} "
        f"for a file {ROWS_LARGE // ROWS_SMALL}x larger"
    )


FAIR_ROWS = 20_000
SAMPLES = 10
CUSTOMERS = 100
DONE = "está completado"


def customers_during_import(shared_worker: bool) -> None:
    """Part 2 (module doc), with the two workers or one `shared_worker`."""
    from tests.support.system import ALL_QUEUES, BULK_QUEUES, WORKER_QUEUES, running_system

    with (
        tempfile.TemporaryDirectory() as tmp_name,
        run_in_thread(port=0) as sandbox,
        running_system(
            Path(tmp_name),
            sandbox.url,
            sandbox.token,
            ADMIN_CHAT_IDS=str(ADMIN),
            IMPORT_MAX_ROWS=str(FAIR_ROWS),
            IMPORT_MAX_BYTES="50MB",
            LOG_LEVEL="INFO",
            # Every row paid in cash: its chain starts at import, the heaviest import there is
            # (three steps and a message per row, as every row was before).
            PAYMENT_METHODS="cash",
        ) as system,
    ):
        if shared_worker:
            system.start_worker(queues=ALL_QUEUES)
        else:
            system.start_worker(queues=WORKER_QUEUES)
            system.start_worker(queues=BULK_QUEUES, concurrency=2, nice=10)
        system.start_bot()
        # A chat per /pedido: one customer's quota (10 a minute) is not what is measured.
        customers = [system.private_chat() for _ in range(2 * SAMPLES)]
        people = [system.private_chat() for _ in range(CUSTOMERS)]
        admin = sandbox.client.private_chat(user_id=ADMIN, first_name="Ana")
        broker = redis.Redis.from_url(system.redis.url)
        baseline = [first_result(customers[n], n) for n in range(SAMPLES)]
        rows = [f"{people[n % CUSTOMERS].id},importado {n},efectivo" for n in range(FAIR_ROWS)]
        data = ("chat_id,texto,pago\n" + "\n".join(rows) + "\n").encode()
        admin.send_document(data, mime_type="text/csv", file_name="grande.csv")
        wait_until(lambda: broker.llen("bulk") > 0, 120, "the import announcing orders")
        during, queued = [], []
        for n in range(SAMPLES):
            queued.append((broker.llen("orders"), broker.llen("bulk")))
            during.append(first_result(customers[SAMPLES + n], SAMPLES + n))
        still = broker.llen("bulk")
    how = "one worker for every queue" if shared_worker else "worker + worker_bulk (nice 10)"
    base, busy = statistics.median(baseline), statistics.median(during)
    print(
        f"{how}: customer /pedido → completado, median {base * 1000:,.0f} ms without an "
        f"import, {busy * 1000:,.0f} ms while {FAIR_ROWS:,} rows import: ratio "
        f"{busy / base:.2f} (max {max(during) * 1000:,.0f} ms); queued meanwhile "
        f"orders ≤ {max(o for o, _ in queued)}, bulk ≥ {min(b for _, b in queued):,} "
        f"({still:,} still at the end)"
    )


BEFORE_ORDERS = 2_000
BEFORE_SAMPLES = 3


def customers_before() -> None:
    """The design this replaced, for comparison: one worker for every queue, and an import's
    orders placed `pendiente` with their chains published on `orders` (what importar_datos
    did: create in bulk, then every chain), BEFORE_ORDERS of them ahead of the customer."""
    from tests.support.system import ALL_QUEUES, running_system

    with (
        tempfile.TemporaryDirectory() as tmp_name,
        run_in_thread(port=0) as sandbox,
        running_system(Path(tmp_name), sandbox.url, sandbox.token, LOG_LEVEL="INFO") as system,
    ):
        system.start_worker(queues=ALL_QUEUES)
        system.start_bot()
        customers = [system.private_chat() for _ in range(SAMPLES + BEFORE_SAMPLES)]
        people = [system.private_chat() for _ in range(CUSTOMERS)]
        baseline = [first_result(customers[n], n) for n in range(SAMPLES)]
        for name in ("REDIS_URL", "DATABASE_URL", "TELEGRAM_API_URL", "TELEGRAM_BOT_TOKEN"):
            os.environ[name] = system.env[name]
        from celery._state import _set_task_join_will_block

        from tasks import app
        from tasks.orders import order_chain

        _set_task_join_will_block(True)
        chats = [people[n % CUSTOMERS].id for n in range(BEFORE_ORDERS)]
        ids = [system.store.create(c, c, f"importado {n}", n)[0].id for n, c in enumerate(chats)]
        with app.producer_or_acquire() as producer:
            for order_id in ids:
                order_chain(order_id).apply_async(producer=producer)
        broker = redis.Redis.from_url(system.redis.url)
        ahead = broker.llen("orders")
        during = [
            first_result(customers[SAMPLES + n], SAMPLES + n, timeout=1800)
            for n in range(BEFORE_SAMPLES)
        ]
    base, busy = statistics.median(baseline), statistics.median(during)
    print(
        f"before (chains on orders, one worker): median {base * 1000:,.0f} ms without an "
        f"import, {busy * 1000:,.0f} ms behind {BEFORE_ORDERS:,} imported orders' chains "
        f"({ahead:,} messages on orders): ratio {busy / base:.1f}"
    )


def first_result(chat: Chat, n: int, timeout: float = 120) -> float:
    """Seconds from a /pedido to its "completado" message."""
    start = time.monotonic()
    sent = chat.send(f"/pedido bocadillo {n}")
    chat.wait_for(lambda m: DONE in (m.text or ""), timeout=timeout, after=sent.message_id)
    return time.monotonic() - start


if __name__ == "__main__":
    if sys.argv[1:] == ["customers"]:  # part 2 alone
        customers_during_import(shared_worker=False)
        customers_during_import(shared_worker=True)
    elif sys.argv[1:] == ["before"]:
        customers_before()
    elif sys.argv[1:] == ["in-process"]:
        in_process()
    else:
        main()
