"""Imported orders reach their customers as orders to confirm, end to end: an admin imports a
CSV for several customers; each is asked in their own chat with the lines and the catalogue's
total; Confirmar brings the invoice (and paying it, the chain), Rechazar cancels and tells the
staff, a cash row is only told and runs its chain on the import's own worker; nobody else's
press moves an order, and importing the file again sends nothing twice.

The customers' worker consumes every queue but `imports` and `bulk`, which a worker of its own
consumes (under nice), as docker-compose.yml and the Procfile run them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from celery import Celery

from core.catalogue import parse_catalogue
from core.catalogue.store import CatalogueStore
from core.orders.model import Order
from core.orders.states import OrderState
from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from sandbox.payments import DEFAULT_PROVIDER_TOKEN
from tests.support.processes import ROOT, wait_until
from tests.support.system import BULK_QUEUES, WORKER_QUEUES, System, running_system

ADMIN = 9_501
STAFF_GROUP = -100_950_001
OFFER = "La tienda ha preparado este pedido para ti"
STALE = "This message is out of date: use the latest one."  # Luis reads English


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("import-offers")
    with running_system(
        tmp,
        sandbox_server.url,
        sandbox_server.token,
        ADMIN_CHAT_IDS=str(ADMIN),
        PAYMENT_METHODS="telegram,cash",
        PAYMENT_PROVIDER_TOKEN=DEFAULT_PROVIDER_TOKEN,
        STAFF_CHAT_ID=str(STAFF_GROUP),
    ) as running:
        demo = parse_catalogue(
            (ROOT / "demo" / "catalogue.csv").read_bytes(), default_currency="EUR"
        )
        CatalogueStore(running.db).replace_all(demo)
        running.sandbox.group_chat(STAFF_GROUP, "Tienda", user_id=ADMIN, administrators=[ADMIN])
        with running.starting():
            running.start_worker(queues=WORKER_QUEUES)
            running.start_worker(queues=BULK_QUEUES, nice=10)
            running.start_bot()
        yield running


@dataclass
class Imported:
    admin: Chat
    ana: Chat  # asked to confirm 2 pizzas margarita (19,00 €)
    luis: Chat  # asked to confirm 1 beef empanada (3,20 €), in English
    eva: Chat  # a cash order: only told
    file: bytes
    orders: dict[int, Order]


def text_of(message: Message) -> str:
    return message.text or message.caption or ""


def import_file(admin: Chat, data: bytes) -> Message:
    sent = admin.send_document(data, mime_type="text/csv", file_name="clientes.csv")
    return admin.wait_for(
        lambda m: "terminada" in text_of(m) and "clientes.csv" in text_of(m),
        timeout=60,
        after=sent.message_id,
    )


@pytest.fixture(scope="module")
def imported(system: System) -> Imported:
    admin = system.sandbox.private_chat(user_id=ADMIN, first_name="Admin")
    ana, luis, eva = system.private_chat(), system.private_chat("en"), system.private_chat()
    rows = [
        "chat_id,texto,idioma,pago,total",
        f'{ana.id},2 pizzas margarita,es,,"19,00"',
        f"{luis.id},1 empanada de carne,en,,",
        f"{eva.id},1 pizza cuatro quesos,es,efectivo,",
        f"{ana.id},3 unicornios,es,,",  # not in the catalogue
        f'{luis.id},1 pizza pepperoni,en,,"5,00"',  # the file's total is not the catalogue's
        f"{STAFF_GROUP},1 pizza margarita,es,,",  # a group: no one customer
    ]
    data = ("\n".join(rows) + "\n").encode()
    done = import_file(admin, data)
    assert "• 3 pedidos creados" in text_of(done) and "• 3 rechazados" in text_of(done)
    orders = {o.chat_id: o for chat in (ana, luis, eva) for o in system.store.recent(chat.id)}
    return Imported(admin, ana, luis, eva, data, orders)


def announced(system: System) -> int:
    """avisar_pedido_importado tasks the workers finished."""
    return len(re.findall(r"Task avisar_pedido_importado\[[^]]+\] succeeded", system.all_logs()))


def offer_of(chat: Chat, words: str = OFFER) -> Message:
    return chat.wait_for(lambda m: words in text_of(m), timeout=30)


def test_each_customer_is_asked_with_the_catalogues_lines_and_total(
    system: System, imported: Imported
) -> None:
    ana = offer_of(imported.ana)
    assert "Pizza Margarita" in text_of(ana) and "19,00" in text_of(ana), text_of(ana)
    assert ana.buttons == [["Confirmar", "Rechazar"]]
    luis = offer_of(imported.luis, "The shop has prepared this order for you")
    assert "Beef Empanada" in text_of(luis) and "€3.20" in text_of(luis), text_of(luis)
    assert luis.buttons == [["Confirm", "Reject"]]
    for chat in (imported.ana, imported.luis):
        order = imported.orders[chat.id]
        assert order.state is OrderState.POR_CONFIRMAR and order.user_id == chat.id
        # The staff member who imported it is its author; nothing was charged or started.
        [created] = system.store.history(order.id)
        assert (created.to_state, created.actor) == ("por_confirmar", f"staff:{ADMIN}")
        assert not order.task_ids
        assert not [m for m in chat.bot_messages() if m.invoice is not None]

    # The rows that could not be sold come back with their reasons.
    rejected = imported.admin.wait_for(lambda m: bool(m.media), timeout=30)
    body = system.sandbox.download(rejected.media[0].file_id).decode("utf-8-sig")
    assert "no está en el catálogo: 3 unicornios" in body
    assert "el total del archivo (5,00) no coincide con el del catálogo (10,50" in body
    assert "chat_id es un grupo" in body


def test_a_cash_row_is_only_told_and_its_chain_runs(system: System, imported: Imported) -> None:
    told = offer_of(imported.eva, "a pagar en efectivo")
    assert "Pizza Cuatro Quesos" in text_of(told) and "11,00" in text_of(told)
    assert not told.buttons
    order_id = imported.orders[imported.eva.id].id
    # Its steps ran (on `bulk`) up to the staff, who now have its card.
    wait_until(lambda: system.store.get(order_id).state is OrderState.POR_ACEPTAR, 60, "card")
    order = system.store.get(order_id)
    assert order.payment_method == "cash"
    # Every step it ran, it ran on the import's worker, none on the customers'.
    customers, imports = (p for p in system.processes if p.name.startswith("worker"))
    for task_id in order.task_ids.split(",")[:2]:
        assert f"[{task_id}] received" in imports.log()
        assert f"[{task_id}] received" not in customers.log()


def test_nobody_elses_press_moves_an_order(system: System, imported: Imported) -> None:
    ana_offer = offer_of(imported.ana)
    luis_offer = offer_of(imported.luis, "The shop has prepared this order for you")
    assert ana_offer.reply_markup is not None
    confirm = ana_offer.reply_markup["inline_keyboard"][0][0]["callback_data"]
    # Luis's modified client sends Ana's Confirmar from his own chat, on his own offer.
    query = imported.luis.press(data=confirm, message_id=luis_offer.message_id, forged=True)
    answer = imported.luis.callback_answer(query)
    assert answer["show_alert"] and answer["text"] == STALE, answer
    assert system.store.get(imported.orders[imported.ana.id].id).state is OrderState.POR_CONFIRMAR
    assert system.store.get(imported.orders[imported.luis.id].id).state is OrderState.POR_CONFIRMAR


def test_confirmar_sends_the_invoice_for_the_catalogues_total_and_paying_starts_the_chain(
    system: System, imported: Imported
) -> None:
    chat, order_id = imported.ana, imported.orders[imported.ana.id].id
    offer = offer_of(chat)
    answer = chat.callback_answer(chat.press("Confirmar", message_id=offer.message_id))
    assert order_id in answer["text"]
    invoice = chat.wait_for(lambda m: m.invoice is not None, timeout=30)
    assert invoice.invoice is not None
    assert (invoice.invoice["currency"], invoice.invoice["total_amount"]) == ("EUR", 1900)
    assert system.store.get(order_id).state is OrderState.AWAITING_PAYMENT
    # The offer became the order's status message.
    chat.wait_for(lambda m: m.message_id == offer.message_id and OFFER not in text_of(m))

    paid = chat.pay(order_info={"name": "Ana", "phone_number": "+34600000001"})
    assert paid["status"] == "paid", paid
    wait_until(lambda: system.store.get(order_id).state is OrderState.POR_ACEPTAR, 60, "chain")
    actors = [(e.to_state, e.actor) for e in system.store.history(order_id)][:3]
    assert actors == [
        ("por_confirmar", f"staff:{ADMIN}"),
        ("esperando_pago", f"customer:{chat.id}"),
        ("pendiente", f"customer:{chat.id}"),
    ]


def test_rechazar_cancels_and_tells_the_staff(system: System, imported: Imported) -> None:
    chat, order_id = imported.luis, imported.orders[imported.luis.id].id
    offer = offer_of(chat, "The shop has prepared this order for you")
    chat.callback_answer(chat.press("Reject", message_id=offer.message_id))
    chat.wait_for(lambda m: m.message_id == offer.message_id and "You rejected" in text_of(m))
    assert system.store.get(order_id).state is OrderState.CANCELADO
    staff = system.sandbox.group_chat(STAFF_GROUP, "Tienda", user_id=ADMIN)
    staff.wait_for(lambda m: order_id in text_of(m) and "ha rechazado" in text_of(m))


def test_importing_the_file_again_sends_nothing_twice(system: System, imported: Imported) -> None:
    before = {c.id: len(c.bot_messages()) for c in (imported.ana, imported.luis, imported.eva)}
    done = import_file(imported.admin, imported.file)
    assert "• 0 pedidos creados" in text_of(done) and "• 3 ya importados antes" in text_of(done)
    # A re-run of the first job (its worker died after placing them) announces the same
    # orders again: their messages are sent once per key.
    queue = Celery("import-tests", broker=system.redis.url)
    for order in imported.orders.values():
        queue.send_task("avisar_pedido_importado", args=[order.id], queue="bulk")
    queue.close()
    wait_until(lambda: announced(system) >= 6, 30, "announced again")
    # No customer heard anything new.
    after = {c.id: len(c.bot_messages()) for c in (imported.ana, imported.luis, imported.eva)}
    assert after == before
    for chat in (imported.ana, imported.luis):
        assert sum(1 for m in chat.bot_messages() if re.search("prepar", text_of(m))) == 1


def test_an_offer_nobody_answers_lapses_and_gives_its_stock_back(
    system: System, imported: Imported
) -> None:
    """After OFFER_TTL without Confirmar or Rechazar the order is called off by the system:
    its tiramisús go back on the shelf, its buttons go, and its customer hears it once."""
    from sqlalchemy import update

    from core.db.models import OrderRow
    from core.importer.expiry import OFFER_TTL

    catalogue = CatalogueStore(system.db)
    marta = system.private_chat()

    def stock_now() -> int | None:
        product = catalogue.get("POS-TIRA")
        assert product is not None
        return product.stock

    stock = stock_now()
    assert stock is not None
    data = f"chat_id,texto,idioma\n{marta.id},2 tiramisú,es\n".encode()
    import_file(imported.admin, data)
    offer = offer_of(marta)
    assert offer.buttons == [["Confirmar", "Rechazar"]]
    assert stock_now() == stock - 2
    (order,) = system.store.recent(marta.id)
    wait_until(lambda: system.store.get(order.id).extra.get("offer_message_id"), 30, "recorded")
    # As if it had been sent OFFER_TTL and a minute ago.
    with system.db.transaction() as session:
        session.execute(
            update(OrderRow)
            .where(OrderRow.id == order.id)
            .values(updated_at=OrderRow.updated_at - OFFER_TTL - 60)
        )

    marta.wait_for(lambda m: "se ha anulado" in text_of(m) and order.id in text_of(m), timeout=60)
    marta.wait_for(lambda m: m.message_id == offer.message_id and not m.buttons, timeout=30)
    assert system.store.get(order.id).state is OrderState.CANCELADO
    assert system.store.history(order.id)[-1].actor == "system"
    assert stock_now() == stock
    assert sum(1 for m in marta.bot_messages() if "se ha anulado" in text_of(m)) == 1
