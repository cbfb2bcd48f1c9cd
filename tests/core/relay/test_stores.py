"""Relayed messages, order photos and quotes in the system of record (SQLite and
PostgreSQL): each kept once with its history line, a quote priced once, photo folders gone
with their order."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.customers.erasure import erase_customer
from core.db.engine import Database
from core.orders.states import OrderState
from core.orders.store import OrderStore
from core.payments.store import PaymentStore
from core.quotes.store import Quotes, payment_for
from core.relay.messages import TO_CUSTOMER, MessageLog
from core.relay.photos import OrderPhotos, order_folder


@pytest.fixture
def store(database_url: str) -> Iterator[OrderStore]:
    db = Database(database_url)
    yield OrderStore(db)
    db.dispose()


def test_a_relayed_message_is_logged_once_with_a_history_line(store: OrderStore) -> None:
    order, _ = store.create(10, 7, "arreglo", 1)
    log = MessageLog(store.db)
    first, new = log.record(order.id, TO_CUSTOMER, "staff:5", "Mañana", "", "tg:-1:9")
    again, new_again = log.record(order.id, TO_CUSTOMER, "staff:5", "Mañana", "", "tg:-1:9")
    assert new and not new_again and again.id == first.id
    assert [m.text for m in log.of_order(order.id)] == ["Mañana"]
    last = store.history(order.id)[-1]
    assert (last.from_state, last.to_state) == ("pendiente", "pendiente")
    assert (last.actor, last.note) == ("staff:5", "mensaje de la tienda: Mañana")


def test_a_quote_is_priced_once_whoever_answers(store: OrderStore) -> None:
    quotes = Quotes(store)
    order, created = quotes.request(10, 7, "imprimir 20 copias", 3, "es")
    assert created and order.state is OrderState.POR_COTIZAR
    assert quotes.request(10, 7, "imprimir 20 copias", 3, "es")[0].id == order.id

    def answer(staff_user: int) -> bool:
        return quotes.price(order.id, 1250, "EUR", staff_user, "telegram", True).priced

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(answer, [101, 102, 103, 104]))
    assert results.count(True) == 1
    priced = store.get(order.id)
    assert priced.state is OrderState.AWAITING_PAYMENT
    assert (priced.total, priced.currency, priced.payment_method) == (1250, "EUR", "telegram")
    [line] = store.lines(order.id)
    assert (line.quantity, line.line_total, line.name_es) == (1, 1250, "imprimir 20 copias")
    request = quotes.get(order.id)
    assert request is not None and request.quoted_by in {101, 102, 103, 104}


def test_a_cancelled_request_is_not_priced(store: OrderStore) -> None:
    quotes = Quotes(store)
    order, _ = quotes.request(10, 7, "cartel", 4, "es")
    store.move(order.id, OrderState.CANCELADO)
    pricing = quotes.price(order.id, 900, "EUR", 101, "", False)
    assert not pricing.priced and pricing.by == 0
    request = quotes.get(order.id)
    assert request is not None and request.quoted_by == 0
    assert store.lines(order.id) == []


def test_how_a_quote_is_paid_follows_the_shop() -> None:
    assert payment_for(("telegram", "cash"), "EUR") == ("telegram", True)
    assert payment_for(("stars",), "EUR") == ("", False)
    assert payment_for(("stars", "cash"), "EUR") == ("cash", False)
    assert payment_for(("stars",), "XTR") == ("stars", True)
    assert payment_for((), "EUR") == ("", False)


def test_photo_folders_go_with_their_order(store: OrderStore, tmp_path: Path) -> None:
    kept, _ = store.create(10, 7, "arreglo", 5)
    gone, _ = store.create(10, 7, "otro", 6)
    photos = OrderPhotos(store.db)
    photo, new = photos.attach(kept.id, "file-1", "u1", "tg:10:50", "customer:7")
    assert new and photos.attach(kept.id, "file-1", "u1", "tg:10:50", "customer:7")[1] is False
    photos.attach(gone.id, "file-2", "u2", "tg:10:51", "customer:7")
    MessageLog(store.db).record(gone.id, TO_CUSTOMER, "staff:5", "hola", "", "tg:-1:10")
    for order_id in (kept.id, gone.id):
        order_folder(tmp_path, order_id).mkdir(parents=True)
        (order_folder(tmp_path, order_id) / "1-u1.jpg").write_bytes(b"jpeg")
    (tmp_path / "pedidos" / "not-an-order").mkdir()
    store.move(gone.id, OrderState.CANCELADO)
    assert store.delete_finished_before(store.clock() + 1, 100, paid_cutoff=store.clock()) == 1
    assert photos.prune_folders(tmp_path) == 1
    assert order_folder(tmp_path, kept.id).is_dir()
    assert not order_folder(tmp_path, gone.id).exists()
    assert (tmp_path / "pedidos" / "not-an-order").is_dir()
    assert [p.id for p in photos.of_order(kept.id)] == [photo.id]
    # The deleted order's records went with it (ON DELETE CASCADE).
    assert photos.of_order(gone.id) == [] and MessageLog(store.db).of_order(gone.id) == []


def test_a_quote_priced_late_has_its_whole_time_to_be_paid(store: OrderStore) -> None:
    now = [1_000_000.0]
    orders = OrderStore(store.db, clock=lambda: now[0])
    quotes = Quotes(orders)
    order, _ = quotes.request(10, 7, "cartel A2", 8, "es")
    now[0] += 2 * 3600  # priced two hours after it was asked for
    assert quotes.price(order.id, 1500, "EUR", 101, "telegram", True).priced
    payments = PaymentStore(orders)
    # expired(cutoff): awaiting payment since before the cutoff (now - INVOICE_TTL).
    assert payments.expired(now[0] - 1, 10) == []
    assert payments.expired(now[0] + 1, 10) == [order.id]


def test_erasure_takes_relayed_texts_and_photos_of_finished_orders(
    store: OrderStore, tmp_path: Path
) -> None:
    done, _ = store.create(10, 7, "arreglo", 9)
    open_order, _ = store.create(10, 7, "otro", 10)
    log, photos = MessageLog(store.db), OrderPhotos(store.db)
    for order in (done, open_order):
        log.record(order.id, TO_CUSTOMER, "staff:5", "Calle Mayor 1", "", f"tg:-1:{order.id}")
        photos.attach(order.id, "file", "u", f"tg:10:{order.id}", "customer:7")
        order_folder(tmp_path, order.id).mkdir(parents=True)
    store.move(done.id, OrderState.CANCELADO)
    erase_customer(store.db, 7, "customer:7")
    assert [m.text for m in log.of_order(done.id)] == ["—"]
    assert photos.of_order(done.id) == []
    assert "Calle Mayor" not in " ".join(e.note for e in store.history(done.id))
    # An order under way keeps what the shop needs to fulfil it.
    assert [m.text for m in log.of_order(open_order.id)] == ["Calle Mayor 1"]
    assert photos.prune_folders(tmp_path) == 1
    assert order_folder(tmp_path, open_order.id).is_dir()
