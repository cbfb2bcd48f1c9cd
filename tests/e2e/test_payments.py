"""Telegram Payments end to end through the sandbox: a card payment with delivery (shipping
options from the delivery zones) from the cart to a completed order, recorded once; Stars and
their refund on /cancelar; cash on delivery; pre-checkout refusing a tampered amount or
payload, an address outside the zones and an expired invoice; and the pre-checkout answer in
time while the same chat floods the bot and no worker runs."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import select, update

from core.catalogue import parse_catalogue
from core.catalogue.product import Product
from core.catalogue.store import CatalogueStore
from core.db.models import OrderRow
from core.db.payments import PaymentRow, RefundRow
from core.orders.states import OrderState
from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from sandbox.payments import DEFAULT_PROVIDER_TOKEN
from tests.e2e.test_orders import completed
from tests.support.processes import ROOT, wait_until
from tests.support.system import System, running_system

DEMO = ROOT / "demo"
STICKERS = Product("STK-PACK", "Pegatinas", "Stickers", 50, "XTR", "Digital", stock=10)
CENTRO = {
    "country_code": "ES",
    "state": "Madrid",
    "city": "Madrid",
    "street_line1": "Calle Mayor 1",
    "street_line2": "",
    "post_code": "28005",
}
# The staff's private chat (ADMIN_CHAT_IDS): told of card refunds due at the provider.
STAFF = 4_242_001
ANA = {"name": "Ana Pérez", "phone_number": "+34600111222", "shipping_address": CENTRO}


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("payments")
    with running_system(
        tmp,
        sandbox_server.url,
        sandbox_server.token,
        CATALOG_FILE=str(DEMO / "catalogue.csv"),
        PAYMENT_METHODS="telegram,stars,cash",
        PAYMENT_PROVIDER_TOKEN=DEFAULT_PROVIDER_TOKEN,
        PAYMENT_SUPPORT_TEXT="Escríbenos a pagos@example.com",
        DELIVERY_ZONES="Centro: 28001-28015 = 300; Madrid: madrid, getafe = 450",
        ADMIN_CHAT_IDS=str(STAFF),
    ) as running:
        demo = parse_catalogue((DEMO / "catalogue.csv").read_bytes(), default_currency="EUR")
        CatalogueStore(running.db).replace_all([*demo, STICKERS])
        with running.starting():
            running.start_worker()
            running.start_bot()
        yield running


def text_of(message: Message) -> str:
    return message.text or message.caption or ""


def stop_workers(system: System) -> None:
    for process in system.processes:
        if process.name.startswith("worker") and process.running:
            process.kill()


def with_a_worker(system: System) -> None:
    """Start a worker unless one runs (an earlier test of the module stops them)."""
    if not any(p.name.startswith("worker") and p.running for p in system.processes):
        system.start_worker()


def stock(system: System, sku: str) -> int | None:
    product = CatalogueStore(system.db).get(sku)
    assert product is not None
    return product.stock


def check_out(system: System, chat: Chat, items: dict[str, int], button: str) -> str:
    """Fill the chat's cart, open it and press `button`; the order's id."""
    for sku, quantity in items.items():
        system.client.hset(f"pedidos:cart:{chat.chat_id}", sku, quantity)
    seen = max((m.message_id for m in chat.bot_messages()), default=0)
    chat.send("/carrito")
    cart = chat.wait_for(lambda m: "Tu carrito" in text_of(m) and m.message_id > seen)
    chat.callback_answer(chat.press(button, message_id=cart.message_id))
    status = chat.wait_for(
        lambda m: m.message_id == cart.message_id and "Pedido P-" in text_of(m), timeout=30
    )
    [order_id] = re.findall(r"P-[0-9A-Z]{6}", text_of(status))
    return order_id


def invoice_of(chat: Chat) -> Message:
    return chat.wait_for(lambda m: m.invoice is not None, timeout=30)


def payment_rows(system: System, order_id: str) -> list[PaymentRow]:
    with system.db.reading() as session:
        return list(session.scalars(select(PaymentRow).where(PaymentRow.order_id == order_id)))


def test_card_payment_with_delivery_completes_the_order_recorded_once(system: System) -> None:
    chat = system.private_chat()
    order_id = check_out(system, chat, {"PZ-MARG": 2, "BEB-COLA": 1}, "💳 Pagar")
    assert system.store.get(order_id).state is OrderState.AWAITING_PAYMENT
    invoice = invoice_of(chat)
    assert invoice.invoice is not None
    assert (invoice.invoice["currency"], invoice.invoice["total_amount"]) == ("EUR", 2150)

    # The address is in both zones: the customer picks the city-wide one (4,50 €).
    paid = chat.pay(order_info=ANA, shipping_option_id="zona-2")
    assert paid["status"] == "paid", paid
    chat.wait_for(lambda m: "Pago recibido" in text_of(m) and "26,00" in text_of(m))
    chat.wait_for(lambda m: completed(m) and order_id in text_of(m), timeout=60)
    order = system.store.get(order_id)
    assert (order.state, order.payment_method, order.delivery_fee, order.total) == (
        OrderState.COMPLETADO,
        "telegram",
        450,
        2600,
    )
    [row] = payment_rows(system, order_id)
    charge = paid["successful_payment"]["telegram_payment_charge_id"]
    assert (row.telegram_payment_charge_id, row.total_amount, row.currency) == (
        charge,
        2600,
        "EUR",
    )
    assert row.shipping_option_id == "zona-2"
    assert row.provider_payment_charge_id
    with system.db.reading() as session:
        stored = session.get(OrderRow, order_id)
        assert stored is not None
        assert (stored.customer_name, stored.customer_phone) == ("Ana Pérez", "+34600111222")
        assert stored.shipping_address == "Calle Mayor 1, 28005, Madrid, Madrid, ES"

    # The same successful_payment again: nothing recorded, nothing said.
    system.sandbox.repeat_successful_payment(charge)
    chat.send("/paysupport")
    chat.wait_for(lambda m: "pagos@example.com" in text_of(m))
    assert len(payment_rows(system, order_id)) == 1
    thanks = [m for m in chat.bot_messages() if "Pago recibido" in text_of(m)]
    assert len(thanks) == 1


def test_stars_payment_is_refunded_when_the_customer_cancels(system: System) -> None:
    chat = system.private_chat()
    # No worker: the paid order stays before preparation, where the customer may cancel it.
    stop_workers(system)
    order_id = check_out(system, chat, {"STK-PACK": 2}, "💳 Pagar")
    invoice = invoice_of(chat)
    assert invoice.invoice is not None and invoice.invoice["currency"] == "XTR"
    assert invoice.invoice["total_amount"] == 100
    paid = chat.pay()
    assert paid["status"] == "paid", paid
    charge = paid["successful_payment"]["telegram_payment_charge_id"]
    wait_until(lambda: system.store.get(order_id).state is OrderState.PENDIENTE, 20, "paid")
    assert system.store.get(order_id).payment_method == "stars"

    chat.send(f"/cancelar {order_id}")
    system.start_worker()
    chat.wait_for(lambda m: "Te devolvimos" in text_of(m) and order_id in text_of(m), timeout=60)
    refunded = chat.wait(
        lambda ms: [m for m in ms if m.refunded_payment is not None], what="refunded_payment"
    )
    assert refunded[0].refunded_payment["telegram_payment_charge_id"] == charge
    with system.db.reading() as session:
        [refund] = session.scalars(select(RefundRow).where(RefundRow.order_id == order_id))
        assert (refund.status, refund.amount, refund.currency) == ("done", 100, "XTR")
    assert system.store.get(order_id).state is OrderState.CANCELADO
    assert stock(system, "STK-PACK") == 10


def test_a_card_refund_is_due_at_the_provider_shown_to_the_staff_and_marked_done(
    system: System,
) -> None:
    staff = system.sandbox.private_chat(user_id=STAFF, first_name="Tienda", language_code="es")
    chat = system.private_chat()
    stop_workers(system)
    order_id = check_out(system, chat, {"PZ-4QUE": 2}, "💳 Pagar")
    invoice_of(chat)
    paid = chat.pay(order_info=ANA, shipping_option_id="zona-1")
    assert paid["status"] == "paid", paid
    provider_charge = paid["successful_payment"]["provider_payment_charge_id"]
    wait_until(lambda: system.store.get(order_id).state is OrderState.PENDIENTE, 20, "paid")

    chat.send(f"/cancelar {order_id}")
    system.start_worker()
    told = chat.wait_for(lambda m: "Te devolveremos" in text_of(m), timeout=60)
    assert "25,00" in text_of(told) and order_id in text_of(told)
    due = staff.wait_for(lambda m: "Reembolso pendiente" in text_of(m), timeout=60)
    assert provider_charge in text_of(due) and "25,00" in text_of(due)
    staff.send("/reembolsos")
    listed = staff.wait_for(lambda m: "Reembolsos pendientes" in text_of(m))
    assert order_id in text_of(listed) and provider_charge in text_of(listed)
    staff.send(f"/reembolsos {order_id}")
    staff.wait_for(lambda m: "marcado como hecho" in text_of(m))
    with system.db.reading() as session:
        [refund] = session.scalars(select(RefundRow).where(RefundRow.order_id == order_id))
        assert (refund.status, refund.amount, refund.provider_payment_charge_id) == (
            "done",
            2500,
            provider_charge,
        )
    # Anyone else is refused and marks nothing.
    chat.send(f"/reembolsos {order_id}")
    chat.wait_for(lambda m: "solo para el equipo" in text_of(m))


def test_cash_order_runs_its_chain_without_an_invoice(system: System) -> None:
    chat = system.private_chat()
    order_id = check_out(system, chat, {"PZ-4QUE": 1}, "💵 Pagar al recibir")
    chat.wait_for(lambda m: completed(m) and order_id in text_of(m), timeout=60)
    order = system.store.get(order_id)
    assert (order.state, order.payment_method) == (OrderState.COMPLETADO, "cash")
    assert not [m for m in chat.bot_messages() if m.invoice is not None]
    assert payment_rows(system, order_id) == []


def test_tampered_amount_payload_and_an_address_outside_the_zones_are_refused(
    system: System,
) -> None:
    chat = system.private_chat()
    order_id = check_out(system, chat, {"PZ-PEPP": 1}, "💳 Pagar")
    invoice_of(chat)
    cheaper = chat.pay(order_info=ANA, total_amount=100)
    assert cheaper["status"] == "failed", cheaper
    assert "El importe no coincide" in cheaper["error"]
    forged = f"p1:{order_id}:AAAAAAAAAAAAAAAAAAAAAA"
    other = chat.pay(order_info=ANA, invoice_payload=forged)
    assert other["status"] == "failed", other
    assert "No reconozco esta factura" in other["error"]
    far = {**ANA, "shipping_address": {**CENTRO, "city": "Sevilla", "post_code": "41001"}}
    outside = chat.pay(order_info=far)
    assert outside["status"] == "failed", outside
    assert outside["stage"] == "shipping" and "No hacemos envíos" in outside["error"]
    assert payment_rows(system, order_id) == []
    assert system.store.get(order_id).state is OrderState.AWAITING_PAYMENT


def test_an_expired_invoice_is_refused_and_its_order_cancelled(system: System) -> None:
    chat = system.private_chat()
    before = stock(system, "EMP-CARNE")
    assert before is not None and before >= 3
    order_id = check_out(system, chat, {"EMP-CARNE": 3}, "💳 Pagar")
    invoice_of(chat)
    assert stock(system, "EMP-CARNE") == before - 3
    # Its invoice was sent an hour ago (INVOICE_TTL is 30 minutes).
    with system.db.transaction() as session:
        session.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id)
            .values(created_at=OrderRow.created_at - 3600, updated_at=OrderRow.updated_at - 3600)
        )
    late = chat.pay(order_info=ANA)
    assert late["status"] == "failed", late
    assert "caducó" in late["error"]
    chat.wait_for(lambda m: "caducó sin pagar" in text_of(m) and order_id in text_of(m), timeout=30)
    assert system.store.get(order_id).state is OrderState.CANCELADO
    assert stock(system, "EMP-CARNE") == before


def test_pre_checkout_is_answered_while_the_chat_floods_and_no_worker_runs(
    system: System,
) -> None:
    chat = system.private_chat()
    order_id = check_out(system, chat, {"PZ-MARG": 1}, "💳 Pagar")
    invoice_of(chat)
    stop_workers(system)
    for n in range(40):
        chat.send(f"/estado P-FLOOD{n % 10}")
    paid = chat.pay(order_info=ANA)
    assert paid["status"] == "paid", paid
    # Recorded and started while the forty replies (1 message/s in one chat) still go out,
    # not after them. (The thank-you itself may be handed to the workers, as any reply to a
    # chat this busy: none runs here.)
    wait_until(lambda: len(payment_rows(system, order_id)) == 1, 20, "payment recorded")
    answered = [m for m in chat.bot_messages() if "No encontré ese pedido" in text_of(m)]
    assert len(answered) < 40, "the payment waited for every earlier reply"
    wait_until(lambda: system.store.get(order_id).state is OrderState.PENDIENTE, 20, "paid order")


def test_an_invoice_telegram_refuses_cancels_its_order_and_gives_its_stock_back(
    system: System,
) -> None:
    chat = system.private_chat()
    before = stock(system, "EMP-CARNE")
    system.sandbox.fail("sendInvoice", status=400, times=1)
    order_id = check_out(system, chat, {"EMP-CARNE": 2}, "💳 Pagar")
    chat.wait_for(
        lambda m: "No pude emitir la factura" in text_of(m) and order_id in text_of(m), timeout=30
    )
    wait_until(lambda: system.store.get(order_id).state is OrderState.CANCELADO, 20, "cancelled")
    assert stock(system, "EMP-CARNE") == before
    assert not [m for m in chat.bot_messages() if m.invoice is not None]


def test_the_last_unit_held_by_an_expired_invoice_goes_to_the_next_buyer(system: System) -> None:
    """The stock race at the moment of payment: Ana's unpaid invoice holds the last tiramisu,
    so Bruno cannot buy it; once her invoice has expired he can, and her late payment is
    refused at pre-checkout: one unit, one sale, stock never below zero."""
    with_a_worker(system)
    CatalogueStore(system.db).set_stock("POS-TIRA", 1)
    ana, bruno = system.private_chat(), system.private_chat()
    held = check_out(system, ana, {"POS-TIRA": 1}, "💳 Pagar")
    invoice_of(ana)
    assert stock(system, "POS-TIRA") == 0

    # While Ana's invoice is open, the last unit is hers.
    system.client.hset(f"pedidos:cart:{bruno.chat_id}", "POS-TIRA", 1)
    bruno.send("/carrito")
    cart = bruno.wait_for(lambda m: "Tu carrito" in text_of(m))
    bruno.callback_answer(bruno.press("💳 Pagar", message_id=cart.message_id))
    bruno.wait_for(lambda m: "Tiramisú" in text_of(m) and "agot" in text_of(m).lower(), timeout=30)
    assert not [m for m in bruno.bot_messages() if m.invoice is not None]

    # Her invoice expires (sent an hour ago; INVOICE_TTL is 30 minutes): the payment she
    # tries now is refused, her order cancelled, the unit back on the shelf.
    with system.db.transaction() as session:
        session.execute(
            update(OrderRow)
            .where(OrderRow.id == held)
            .values(created_at=OrderRow.created_at - 3600, updated_at=OrderRow.updated_at - 3600)
        )
    late = ana.pay(order_info=ANA)
    assert late["status"] == "failed", late
    wait_until(lambda: stock(system, "POS-TIRA") == 1, 30, "the unit released")

    # (Bruno's chat is busy by now: his cart may stay unedited, so his order is looked up.)
    seen = max(m.message_id for m in bruno.bot_messages())
    bruno.send("/carrito")
    cart = bruno.wait_for(lambda m: "Tu carrito" in text_of(m) and m.message_id > seen)
    bruno.callback_answer(bruno.press("💳 Pagar", message_id=cart.message_id))
    invoice_of(bruno)
    [sold] = [o.id for o in system.store.recent(bruno.chat_id) if o.id != held][:1]
    assert stock(system, "POS-TIRA") == 0
    paid = bruno.pay(order_info=ANA)
    assert paid["status"] == "paid", paid
    bruno.wait_for(lambda m: completed(m) and sold in text_of(m), timeout=60)
    assert system.store.get(held).state is OrderState.CANCELADO
    assert payment_rows(system, held) == []
    assert len(payment_rows(system, sold)) == 1
    assert stock(system, "POS-TIRA") == 0


@pytest.mark.browser
def test_a_customer_pays_the_bots_invoice_in_the_web_chat(
    system: System, sandbox_server: RunningSandbox
) -> None:
    """In headless Chromium, the real bot's invoice: the cart's Pagar, the payment form with
    the shop's delivery zones as shipping options, Pay; the order completes, charged once."""
    from playwright.sync_api import expect, sync_playwright

    from sandbox.screenshot import CHROMIUM, CHROMIUM_ARGS

    with_a_worker(system)
    chat = system.private_chat(first_name="Ana")
    user = chat.chat_id
    system.client.hset(f"pedidos:cart:{user}", "PZ-PEPP", 2)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(locale="es-ES")
            page.goto(f"{sandbox_server.url}/?user={user}&name=Ana&lang=es&chat={user}")
            page.fill("#text-input", "/carrito")
            page.press("#text-input", "Enter")
            page.get_by_role("button", name="💳 Pagar").last.click()
            invoice = page.locator(".invoice").last
            expect(invoice).to_contain_text("21,00", timeout=30_000)
            page.get_by_role("button", name="Pay 21,00 €").last.click()
            form = page.locator("#pay-form")
            form.get_by_label("Name", exact=True).fill("Ana Pérez")
            form.get_by_label("Phone").fill("+34600111222")
            form.get_by_label("Street", exact=True).fill("Calle Mayor 1")
            form.get_by_label("City").fill("Madrid")
            form.get_by_label("Post code").fill("28005")
            form.get_by_role("button", name="Continue").click()
            # Both zones cover 28005: the shop's own two options, Centro chosen.
            expect(page.locator("#pay-shipping option")).to_have_count(2, timeout=30_000)
            form.get_by_label("Shipping").select_option("zona-1")
            pay = page.locator("#pay-submit")
            expect(pay).to_contain_text("24,00")
            pay.click()
            expect(page.locator("#pay-outcome")).to_contain_text("Paid", timeout=30_000)
            page.get_by_role("button", name="Close").click()
            bot_bubbles = page.locator(".row:not(.out) .bubble")
            expect(bot_bubbles.filter(has_text="Pago recibido")).to_have_count(1, timeout=30_000)
            expect(bot_bubbles.filter(has_text="completado")).not_to_have_count(0, timeout=60_000)
        finally:
            browser.close()
    [order_id] = {
        found for m in chat.bot_messages() for found in re.findall(r"P-[0-9A-Z]{6}", text_of(m))
    }
    order = system.store.get(order_id)
    assert (order.state, order.total, order.delivery_fee) == (OrderState.COMPLETADO, 2400, 300)
    [row] = payment_rows(system, order_id)
    assert (row.total_amount, row.currency, row.shipping_option_id) == (2400, "EUR", "zona-1")


def test_a_stars_refund_made_outside_the_bot_is_recorded_and_told_once(system: System) -> None:
    """The shop owner refunds a Stars payment with their own tools: Telegram's
    refunded_payment message is the bot's only news of it."""
    with_a_worker(system)
    chat = system.private_chat()
    order_id = check_out(system, chat, {"STK-PACK": 1}, "💳 Pagar")
    invoice_of(chat)
    paid = chat.pay()
    assert paid["status"] == "paid", paid
    charge = paid["successful_payment"]["telegram_payment_charge_id"]
    chat.wait_for(lambda m: completed(m) and order_id in text_of(m), timeout=60)

    api = f"{system.sandbox.api_url}/bot{system.sandbox.token}/refundStarPayment"
    answer = requests.post(
        api, json={"user_id": chat.chat_id, "telegram_payment_charge_id": charge}, timeout=30
    ).json()
    assert answer["ok"], answer
    chat.wait_for(lambda m: "Te devolvimos" in text_of(m) and order_id in text_of(m), timeout=60)
    with system.db.reading() as session:
        [refund] = session.scalars(select(RefundRow).where(RefundRow.order_id == order_id))
        assert (refund.status, refund.amount, refund.currency) == ("done", 50, "XTR")
    # Telegram's message again (a re-delivered update): nothing new recorded or said.
    chat.send("/paysupport")
    chat.wait_for(lambda m: "pagos@example.com" in text_of(m))
    told = [m for m in chat.bot_messages() if "Te devolvimos" in text_of(m)]
    assert len(told) == 1


def test_staff_refund_a_delivered_order_without_cancelling_it(system: System) -> None:
    """/reembolsar gives a completed order's payment back (a goodwill refund): the customer
    is told once, the order stays completed, and a second /reembolsar refunds nothing more."""
    with_a_worker(system)
    chat = system.private_chat()
    staff = system.sandbox.private_chat(user_id=STAFF, first_name="Tienda", language_code="es")
    order_id = check_out(system, chat, {"STK-PACK": 2}, "💳 Pagar")
    invoice_of(chat)
    assert chat.pay()["status"] == "paid"
    chat.wait_for(lambda m: completed(m) and order_id in text_of(m), timeout=60)

    staff.send(f"/reembolsar {order_id} llegó dañado")
    staff.wait_for(lambda m: "Devolviendo 100" in text_of(m) and "llegó dañado" in text_of(m))
    chat.wait_for(lambda m: "Te devolvimos" in text_of(m) and order_id in text_of(m), timeout=60)
    with system.db.reading() as session:
        [refund] = session.scalars(select(RefundRow).where(RefundRow.order_id == order_id))
        assert (refund.status, refund.amount, refund.reason) == ("done", 100, "llegó dañado")
    assert system.store.get(order_id).state is OrderState.COMPLETADO

    staff.send(f"/reembolsar {order_id}")
    staff.wait_for(lambda m: "ya está reembolsado" in text_of(m))
    stranger = system.private_chat()
    stranger.send(f"/reembolsar {order_id}")
    stranger.wait_for(lambda m: "solo para el equipo" in text_of(m))
    assert len([m for m in chat.bot_messages() if "Te devolvimos" in text_of(m)]) == 1
