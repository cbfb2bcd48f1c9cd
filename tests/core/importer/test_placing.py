"""Imported rows become orders through the chat's own order actions, authored by the staff
member, waiting for their customer; priced on the server from the catalogue; and only that
customer's answer moves them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import redis

from core.catalogue.matching import CatalogueIndex
from core.catalogue.product import Product
from core.catalogue.store import CatalogueStore
from core.db.engine import Database
from core.importer import offers
from core.importer.jobs import ImportJobs, ImportState
from core.importer.placing import Shop
from core.importer.run import Importer
from core.orders.states import OrderState
from core.orders.store import OrderStore
from core.recovery.starts import PendingStarts
from core.telegram.handover import Outgoing

ADMIN = 9
MARGARITA = Product("PZ-MARG", "Pizza Margarita", "Margherita Pizza", 950, "EUR", "Pizzas")
TIRAMISU = Product("POS-TIRA", "Tiramisú", "Tiramisu", 450, "EUR", "Postres", stock=1)


class Courier:
    """The import job's own messages (progress, summary, rejected rows) are not under test."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def send(self, chat_id: int, text: str, *, key: str) -> int:
        return 1

    def edit(self, chat_id: int, message_id: int, text: str, **_: Any) -> int:
        return message_id

    def send_file(self, chat_id: int, method: str, path: Path, **options: Any) -> int:
        self.files[options["file_name"]] = path.read_bytes()
        return 2


class Sender:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def deliver(self, message: Outgoing) -> int:
        self.sent.append(message)
        return 100 + len(self.sent)


def left(db: Database) -> int | None:
    product = CatalogueStore(db).get(TIRAMISU.sku)
    assert product is not None
    return product.stock


def importer(db: Database, redis_url: str, tmp: Path, content: str, shop: Shop) -> Any:
    """An Importer of `content`, its job, and what it announced (a list of id batches)."""
    source = tmp / "pedidos.csv"
    source.write_text(content, encoding="utf-8")
    jobs = ImportJobs(redis.Redis.from_url(redis_url, decode_responses=True))
    job, _ = jobs.create(ADMIN, ADMIN, "file-1", "pedidos.csv", source.stat().st_size, 1, "es")
    announced: list[list[str]] = []

    def fetch(_file_id: str, dest: Path, _max_bytes: int) -> None:
        shutil.copyfile(source, dest)

    store = OrderStore(db, PendingStarts(redis.Redis.from_url(redis_url)))
    run = Importer(
        jobs=jobs,
        store=store,
        courier=Courier(),
        fetch=fetch,
        announce=lambda ids: announced.append(list(ids)),
        shop=lambda: shop,
        max_rows=100,
        max_bytes=10_000,
        workdir=str(tmp),
    )
    return run, job, announced, store


def test_free_text_rows_wait_for_their_customer_authored_by_the_staff_and_once_per_row(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    shop = Shop(None, {}, ("cash",), 0, "EUR")
    content = "chat_id,texto,pago\n100,una tarta,\n101,pan,efectivo\n-5,grupo,\n"
    run, job, announced, store = importer(db, redis_url, tmp_path, content, shop)
    done = run.run(job.id)
    assert (done.created, done.rejected) == (2, 1)
    [ids] = announced
    waiting, cash = store.get_many(ids)
    assert (waiting.chat_id, waiting.user_id, waiting.state) == (100, 100, OrderState.POR_CONFIRMAR)
    assert (cash.state, cash.payment_method) == (OrderState.PENDIENTE, "cash")
    for order in (waiting, cash):
        assert [e.actor for e in store.history(order.id)] == [f"staff:{ADMIN}"]
        assert order.total == 0  # no catalogue: no amount, whatever the file says
    # Only the cash order is for the workers to start; the other waits for its customer.
    assert store.starts is not None
    assert store.starts.take("order", cash.id, "test")
    assert not store.starts.take("order", waiting.id, "test")

    # The job again (its worker died): the same orders, announced again (their messages are
    # sent once per key), nothing new stored.
    run.jobs.update(job.id, state=ImportState.RUNNING.value)
    again = run.run(job.id)
    assert again.created == 2 and announced[1] == ids
    assert sum(len(b) for b in store.created_between(0, 10**12)) == 2


def test_catalogue_rows_are_priced_on_the_server_and_the_files_total_only_checked(
    sqlite_db: Database, redis_url: str, tmp_path: Path
) -> None:
    CatalogueStore(sqlite_db).replace_all([MARGARITA, TIRAMISU])
    shop = Shop(
        CatalogueIndex([MARGARITA, TIRAMISU]),
        {p.sku: p for p in (MARGARITA, TIRAMISU)},
        ("telegram", "cash"),
        0,
        "EUR",
    )
    content = (
        "chat_id,texto,total,pago\n"
        '100,2 pizzas margarita,"19,00",\n'
        '101,1 pizza margarita,"5,00",\n'
        "102,3 unicornios,,\n"
        "103,1 tiramisú,,efectivo\n"
        "104,1 tiramisú,,\n"
    )
    run, job, announced, store = importer(sqlite_db, redis_url, tmp_path, content, shop)
    done = run.run(job.id)
    assert (done.created, done.rejected) == (2, 3)
    invoiced, cash = store.get_many(announced[0])
    assert (invoiced.total, invoiced.currency, invoiced.payment_method) == (1900, "EUR", "telegram")
    assert [(ln.sku, ln.quantity) for ln in store.lines(invoiced.id)] == [("PZ-MARG", 2)]
    assert (cash.state, cash.payment_method, cash.total) == (OrderState.PENDIENTE, "cash", 450)
    rejected = run.courier.files["pedidos-rechazadas.csv"].decode("utf-8-sig")
    assert "el total del archivo (5,00) no coincide con el del catálogo (9,50" in rejected
    assert "no está en el catálogo: 3 unicornios" in rejected
    # The cash row took the last tiramisú.
    assert "no se puede vender así: POS-TIRA (agotado)" in rejected


def test_only_the_orders_customer_answers_its_offer(
    sqlite_db: Database, redis_url: str, tmp_path: Path
) -> None:
    CatalogueStore(sqlite_db).replace_all([MARGARITA, TIRAMISU])
    shop = Shop(
        CatalogueIndex([MARGARITA, TIRAMISU]),
        {p.sku: p for p in (MARGARITA, TIRAMISU)},
        ("cash",),
        0,
        "EUR",
    )
    content = "chat_id,texto\n100,1 tiramisú\n101,2 pizzas margarita\n"
    run, job, announced, store = importer(sqlite_db, redis_url, tmp_path, content, shop)
    run.run(job.id)
    tiramisu, pizzas = store.get_many(announced[0])

    sender = Sender()
    assert offers.announce(store, sender, pizzas.id) == "offer"
    [sent] = sender.sent
    chat, text, key, keyboard = sent.chat_id, sent.text, sent.key, sent.reply_markup
    assert not sent.urgent  # a customer's own messages go first
    assert chat == 101 and key == f"order:{pizzas.id}:import_offer"
    assert "La tienda ha preparado este pedido para ti" in text and "19,00" in text
    assert "2× Pizza Margarita" in text or "2 × Pizza Margarita" in text, text
    assert keyboard is not None
    assert [b["text"] for b in keyboard["inline_keyboard"][0]] == ["Confirmar", "Rechazar"]
    assert store.get(pizzas.id).extra[offers.OFFER_FIELD] == "101"

    # Someone else (another chat, or another user in it) moves nothing.
    for chat_id, user_id in ((102, 102), (101, 999)):
        outcome = offers.answer_offer(store, pizzas.id, chat_id, user_id, offers.CONFIRM)
        assert outcome.answer is offers.Answer.NOT_YOURS
    assert store.get(pizzas.id).state is OrderState.POR_CONFIRMAR

    # Confirmar, with no invoice to pay (the shop takes cash only): its chain is to start.
    outcome = offers.answer_offer(store, pizzas.id, 101, 101, offers.CONFIRM)
    assert outcome.answer is offers.Answer.START
    assert outcome.order is not None and outcome.order.state is OrderState.PENDIENTE
    assert store.starts is not None and store.starts.take("order", pizzas.id, "test")
    assert [e.actor for e in store.history(pizzas.id)] == [f"staff:{ADMIN}", "customer:101"]
    twice = offers.answer_offer(store, pizzas.id, 101, 101, offers.CONFIRM)
    assert twice.answer is offers.Answer.STALE
    # Announced again (a re-run import): answered already, so nothing is said, though it is
    # now a cash order (the shop takes cash only) like a `pago=efectivo` row's.
    assert store.get(pizzas.id).payment_method == "cash"
    assert offers.announce(store, sender, pizzas.id) == "" and len(sender.sent) == 1

    # Rechazar cancels, and the last tiramisú it held goes back on sale.
    assert left(sqlite_db) == 0
    outcome = offers.answer_offer(store, tiramisu.id, 100, 100, offers.REJECT)
    assert outcome.answer is offers.Answer.REJECTED
    assert store.get(tiramisu.id).state is OrderState.CANCELADO
    assert left(sqlite_db) == 1
