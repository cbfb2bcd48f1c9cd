"""The shop's staff fulfil orders from their group (STAFF_CHAT_ID) end to end: one card per
order, each press a move the customer sees once, pickup and delivery, a rejection refunded,
presses by people who are not staff, two staff at once, automatic products, the staff
commands, and a bot and worker restart in the middle of the human steps.

Ana administers the staff group (getChatMember says so); Luis is in STAFF_USER_IDS; Pepe is
a plain member; GroupAnonymousBot stands for the group's anonymous admins.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from core.catalogue import parse_catalogue
from core.catalogue.product import Product
from core.catalogue.store import CatalogueStore
from core.db.payments import RefundRow
from core.orders.states import OrderState
from core.recovery.epoch import EPOCH_KEY
from core.shopfloor import board
from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from sandbox.payments import DEFAULT_PROVIDER_TOKEN
from tests.e2e.test_orders import completed
from tests.e2e.test_payments import ANA as ANA_INFO
from tests.e2e.test_payments import DEMO, check_out, invoice_of, text_of
from tests.support.chat import ROOMY_LIMITS, ROOMY_SANDBOX_LIMITS
from tests.support.processes import wait_until
from tests.support.system import System, running_system

STAFF_GROUP = -100_777_001
ANA, LUIS, PEPE = 7_701, 7_702, 7_703
ANONYMOUS_ADMIN = 1087968824
STICKERS = Product("STK-PACK", "Pegatinas", "Stickers", 50, "XTR", "Digital", stock=10)


@dataclass
class Staff:
    ana: Chat  # administrator of the group
    luis: Chat  # listed in STAFF_USER_IDS
    pepe: Chat  # a member, not staff
    anonymous: Chat  # the group's anonymous admin


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("shopfloor")
    with running_system(
        tmp,
        sandbox_server.url,
        sandbox_server.token,
        CATALOG_FILE=str(DEMO / "catalogue.csv"),
        PAYMENT_METHODS="telegram,stars,cash",
        PAYMENT_PROVIDER_TOKEN=DEFAULT_PROVIDER_TOKEN,
        DELIVERY_ZONES="Centro: 28001-28015 = 300",
        STAFF_CHAT_ID=str(STAFF_GROUP),
        STAFF_USER_IDS=str(LUIS),
        **ROOMY_LIMITS,
    ) as running:
        running.sandbox.set_limits(
            chat_per_second=ROOMY_SANDBOX_LIMITS["chat_per_second"],
            chat_burst=int(ROOMY_SANDBOX_LIMITS["chat_burst"]),
            group_per_minute=ROOMY_SANDBOX_LIMITS["group_per_minute"],
        )
        demo = parse_catalogue((DEMO / "catalogue.csv").read_bytes(), default_currency="EUR")
        CatalogueStore(running.db).replace_all([*demo, STICKERS])
        with running.starting():
            running.start_worker(concurrency=4)
            running.start_bot()
        yield running


@pytest.fixture(scope="module")
def staff(system: System) -> Staff:
    group = system.sandbox.group_chat(
        STAFF_GROUP, title="Cocina", user_id=ANA, first_name="Ana", administrators=[ANA]
    )
    return Staff(
        ana=group,
        luis=group.as_user(LUIS, first_name="Luis"),
        pepe=group.as_user(PEPE, first_name="Pepe"),
        anonymous=group.as_user(
            ANONYMOUS_ADMIN, first_name="Group", username="GroupAnonymousBot", is_bot=True
        ),
    )


def card_of(staff: Staff, order_id: str, button: str = "✅ Aceptar") -> Message:
    """The order's card in the staff group, showing `button`."""
    return staff.ana.wait_for(
        lambda m: order_id in text_of(m) and button in m.button_texts, timeout=30
    )


def press(chat: Chat, card: Message, label: str) -> dict[str, object]:
    """Press `label` on the card; the bot's answer to the press."""
    return chat.callback_answer(chat.press(label, message_id=card.message_id))


def step(chat: Chat, card: Message, label: str, next_label: str) -> Message:
    """Press `label`; the card once it offers `next_label`."""
    answer = press(chat, card, label)
    assert not answer.get("show_alert"), answer
    return chat.wait_for(
        lambda m: m.message_id == card.message_id and next_label in m.button_texts, timeout=20
    )


def cards_in_group(staff: Staff, order_id: str) -> list[Message]:
    return [m for m in staff.ana.bot_messages() if text_of(m).startswith(f"🛎 Pedido {order_id}")]


def told(chat: Chat, words: str, order_id: str) -> int:
    return sum(1 for m in chat.bot_messages() if words in text_of(m) and order_id in text_of(m))


def staff_actors(system: System, order_id: str) -> list[tuple[str, str]]:
    return [
        (e.to_state, e.actor)
        for e in system.store.history(order_id)
        if e.actor.startswith("staff:")
    ]


def test_pickup_order_from_card_to_delivered_each_state_told_once(
    system: System, staff: Staff
) -> None:
    chat = system.private_chat()
    order_id = check_out(system, chat, {"PZ-MARG": 2}, "💵 Pagar al recibir")
    card = card_of(staff, order_id)
    assert "2 × Pizza Margarita" in text_of(card) and "19,00" in text_of(card)
    assert "a cobrar en efectivo" in text_of(card) and "Recoge en tienda" in text_of(card)
    assert system.store.get(order_id).state is OrderState.POR_ACEPTAR
    # The status message follows the people's steps, its bar too.
    chat.wait_for(lambda m: "esperando a la tienda" in text_of(m) and "40%" in text_of(m))

    card = step(staff.ana, card, "✅ Aceptar", "👩‍🍳 En preparación")
    assert "Ana" in text_of(card) and "aceptado" in text_of(card)
    card = step(staff.ana, card, "👩‍🍳 En preparación", "📦 Listo para recoger")
    # Pickup: Listo leads straight to Entregado, no En reparto.
    card = step(staff.ana, card, "📦 Listo para recoger", "🤝 Entregado")
    assert "🛵 En reparto" not in card.button_texts
    chat.wait_for(lambda m: "Estado: listo" in text_of(m) and "75%" in text_of(m))
    press(staff.ana, card, "🤝 Entregado")
    chat.wait_for(lambda m: completed(m) and order_id in text_of(m), timeout=30)
    staff.ana.wait_for(
        lambda m: m.message_id == card.message_id and not m.buttons and "entregado" in text_of(m)
    )

    for words in (
        "ha aceptado",
        "Estamos preparando",
        "puedes pasar a recogerlo",
        "está completado",
    ):
        assert told(chat, words, order_id) == 1, (words, chat.transcript_text())
    assert len(cards_in_group(staff, order_id)) == 1
    assert staff_actors(system, order_id) == [
        ("aceptado", f"staff:{ANA}"),
        ("en_preparacion", f"staff:{ANA}"),
        ("listo", f"staff:{ANA}"),
        ("entregado", f"staff:{ANA}"),
    ]
    assert system.store.get(order_id).state is OrderState.COMPLETADO


def test_delivery_order_paid_by_card_goes_out_for_delivery(system: System, staff: Staff) -> None:
    chat = system.private_chat()
    order_id = check_out(system, chat, {"PZ-4QUE": 1}, "💳 Pagar")
    invoice_of(chat)
    assert chat.pay(order_info=ANA_INFO, shipping_option_id="zona-1")["status"] == "paid"
    card = card_of(staff, order_id)
    for words in ("Ana Pérez", "+34600111222", "Calle Mayor 1", "pagado con tarjeta", "14,00"):
        assert words in text_of(card), text_of(card)

    card = step(staff.luis, card, "✅ Aceptar", "👩‍🍳 En preparación")
    card = step(staff.luis, card, "👩‍🍳 En preparación", "📦 Listo para reparto")
    card = step(staff.luis, card, "📦 Listo para reparto", "🛵 En reparto")
    card = step(staff.luis, card, "🛵 En reparto", "🤝 Entregado")
    press(staff.luis, card, "🤝 Entregado")
    chat.wait_for(lambda m: completed(m) and order_id in text_of(m), timeout=30)
    for words in ("ha aceptado", "saldrá enseguida", "va de camino", "está completado"):
        assert told(chat, words, order_id) == 1, (words, chat.transcript_text())
    assert [state for state, _ in staff_actors(system, order_id)] == [
        "aceptado",
        "en_preparacion",
        "listo",
        "en_reparto",
        "entregado",
    ]


def test_rejection_with_a_reason_cancels_and_refunds_the_stars(
    system: System, staff: Staff
) -> None:
    chat = system.private_chat()
    order_id = check_out(system, chat, {"STK-PACK": 2}, "💳 Pagar")
    invoice_of(chat)
    paid = chat.pay()
    assert paid["status"] == "paid", paid
    card = card_of(staff, order_id)
    card = step(staff.ana, card, "❌ Rechazar", "Sin existencias")
    answer = press(staff.ana, card, "Sin existencias")
    assert not answer.get("show_alert"), answer

    chat.wait_for(lambda m: "se nos ha acabado" in text_of(m) and order_id in text_of(m))
    chat.wait(lambda ms: [m for m in ms if m.refunded_payment is not None], what="refund")
    chat.wait_for(lambda m: "Te devolvimos" in text_of(m) and order_id in text_of(m))
    with system.db.reading() as session:
        [refund] = session.scalars(select(RefundRow).where(RefundRow.order_id == order_id))
        assert (refund.status, refund.amount, refund.currency) == ("done", 100, "XTR")
    assert system.store.get(order_id).state is OrderState.CANCELADO
    staff.ana.wait_for(
        lambda m: m.message_id == card.message_id and not m.buttons and "cancelado" in text_of(m)
    )
    [(state, actor)] = staff_actors(system, order_id)
    assert (state, actor) == ("cancelado", f"staff:{ANA}")
    assert "Sin existencias" in system.store.history(order_id)[-1].note


def test_a_member_and_an_anonymous_admin_change_nothing(system: System, staff: Staff) -> None:
    chat = system.private_chat()
    order_id = check_out(system, chat, {"PAN-TOM": 1}, "💵 Pagar al recibir")
    card = card_of(staff, order_id)
    for outsider in (staff.pepe, staff.anonymous):
        answer = press(outsider, card, "✅ Aceptar")
        assert answer["show_alert"] and "solo para el equipo" in str(answer["text"]), answer
    assert system.store.get(order_id).state is OrderState.POR_ACEPTAR
    assert staff_actors(system, order_id) == []
    assert told(chat, "ha aceptado", order_id) == 0
    # The staff commands refuse them too.
    staff.pepe.send("/cola")
    staff.ana.wait_for(lambda m: "solo para el equipo de la tienda" in text_of(m))


def test_two_staff_pressing_at_once_make_one_move(system: System, staff: Staff) -> None:
    chat = system.private_chat()
    order_id = check_out(system, chat, {"ENS-TOM": 1}, "💵 Pagar al recibir")
    card = card_of(staff, order_id)
    answers: dict[str, dict[str, object]] = {}

    def tap(name: str, who: Chat) -> None:
        answers[name] = press(who, card, "✅ Aceptar")

    threads = [
        threading.Thread(target=tap, args=(n, c))
        for n, c in (("ana", staff.ana), ("luis", staff.luis))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(staff_actors(system, order_id)) == 1
    [(_, winner)] = staff_actors(system, order_id)
    loser = "luis" if winner == f"staff:{ANA}" else "ana"
    assert answers[loser]["show_alert"] and "Ya lo hizo" in str(answers[loser]["text"]), answers
    chat.wait_for(lambda m: "ha aceptado" in text_of(m))
    assert told(chat, "ha aceptado", order_id) == 1


def test_automatic_products_complete_without_a_card(system: System, staff: Staff) -> None:
    chat = system.private_chat()
    order_id = check_out(system, chat, {"DIG-RECETAS": 1}, "💳 Pagar")
    invoice_of(chat)
    assert chat.pay()["status"] == "paid"
    chat.wait_for(lambda m: completed(m) and order_id in text_of(m), timeout=30)
    assert board.card_of(system.db, order_id) is None
    assert cards_in_group(staff, order_id) == []


def test_staff_commands_queue_search_and_order(system: System, staff: Staff) -> None:
    chat = system.private_chat()
    order_id = check_out(system, chat, {"BEB-AGUA": 3}, "💳 Pagar")
    invoice_of(chat)
    info = {**ANA_INFO, "name": "Marta Queue", "phone_number": "+34611222333"}
    assert chat.pay(order_info=info, shipping_option_id="zona-1")["status"] == "paid"
    card_of(staff, order_id)

    sent = staff.luis.send("/cola")
    queue = staff.ana.wait_for(lambda m: "Cola" in text_of(m), timeout=15, after=sent.message_id)
    assert order_id in text_of(queue) and "Marta Queue" in text_of(queue)
    sent = staff.luis.send("/buscar 611222333")
    found = staff.ana.wait_for(lambda m: "🔎" in text_of(m), after=sent.message_id)
    assert order_id in text_of(found)
    # Abrir posts the card again here; it is now the order's card.
    press(staff.luis, found, f"🗂 {order_id}")
    again = staff.ana.wait_for(
        lambda m: order_id in text_of(m) and "✅ Aceptar" in m.button_texts,
        after=found.message_id,
    )
    assert board.card_of(system.db, order_id).message_id == again.message_id  # type: ignore[union-attr]
    sent = staff.ana.send(f"/pedido {order_id}")
    whole = staff.ana.wait_for(lambda m: "Historial" in text_of(m), after=sent.message_id)
    assert "Marta Queue" in text_of(whole) and "por_aceptar" in text_of(whole)


def test_bot_and_worker_restart_in_the_middle_of_the_human_steps(
    system: System, staff: Staff
) -> None:
    """Both die, and Redis loses everything too: one order accepted, one still waiting for
    its first press. Nothing is run again for them (the recovery sweep only adopts them), no
    second card is posted, and the staff carry both to the end."""
    chat = system.private_chat()
    order_id = check_out(system, chat, {"POS-BROW": 1}, "💵 Pagar al recibir")
    waiting_id = check_out(system, chat, {"POS-CROI": 1}, "💵 Pagar al recibir")
    waiting_card = card_of(staff, waiting_id)
    card = step(staff.ana, card_of(staff, order_id), "✅ Aceptar", "👩‍🍳 En preparación")
    chat.wait_for(lambda m: "ha aceptado" in text_of(m) and order_id in text_of(m))
    history = {o: len(system.store.history(o)) for o in (order_id, waiting_id)}
    # As a lost machine takes them; and Redis comes back empty (a new epoch).
    for process in [p for p in system.processes if p.running]:
        process.kill(signal.SIGKILL)
    system.client.flushall()
    # Both come back together (as a redeploy brings them), each waited for until ready.
    worker = threading.Thread(target=system.start_worker, kwargs={"concurrency": 4})
    worker.start()
    system.start_bot()
    worker.join()
    epoch = wait_until(lambda: system.client.get(EPOCH_KEY), 30, "a new epoch")
    wait_until(
        lambda: all(system.store.get(o).queued_epoch == epoch for o in history),
        60,
        "both orders adopted by the new epoch",
    )
    assert {o: len(system.store.history(o)) for o in history} == history
    assert len(cards_in_group(staff, waiting_id)) == 1

    card = step(staff.ana, card, "👩‍🍳 En preparación", "📦 Listo para recoger")
    card = step(staff.ana, card, "📦 Listo para recoger", "🤝 Entregado")
    press(staff.ana, card, "🤝 Entregado")
    chat.wait_for(lambda m: completed(m) and order_id in text_of(m), timeout=30)
    step(staff.luis, waiting_card, "✅ Aceptar", "👩‍🍳 En preparación")
    chat.wait_for(lambda m: "ha aceptado" in text_of(m) and waiting_id in text_of(m))
    for words in (
        "ha aceptado",
        "Estamos preparando",
        "puedes pasar a recogerlo",
        "está completado",
    ):
        assert told(chat, words, order_id) == 1, (words, chat.transcript_text())
    assert system.store.get(order_id).state is OrderState.COMPLETADO


def test_a_customer_cancels_before_the_shop_accepts_and_not_after(
    system: System, staff: Staff
) -> None:
    chat = system.private_chat()
    order_id = check_out(system, chat, {"CAF-SOLO": 1}, "💵 Pagar al recibir")
    card = card_of(staff, order_id)
    chat.send(f"/cancelar {order_id}")
    staff.ana.wait_for(
        lambda m: m.message_id == card.message_id and not m.buttons and "cancelado" in text_of(m)
    )

    later = check_out(system, chat, {"CAF-LECHE": 1}, "💵 Pagar al recibir")
    step(staff.ana, card_of(staff, later), "✅ Aceptar", "👩‍🍳 En preparación")
    sent = chat.send(f"/cancelar {later}")
    chat.wait_for(lambda m: "no se puede cancelar" in text_of(m), after=sent.message_id)
    assert system.store.get(later).state is OrderState.ACEPTADO


def test_a_press_on_a_card_not_yet_recorded_moves_the_order(system: System, staff: Staff) -> None:
    """The worker records a card just after Telegram shows it: a press in that moment is on
    the order's card all the same (its buttons stay), never taken for an older card."""
    from sqlalchemy import delete

    from core.db.cards import OrderCardRow

    chat = system.private_chat()
    order_id = check_out(system, chat, {"PZ-PEPP": 1}, "💵 Pagar al recibir")
    card = card_of(staff, order_id)
    wait_until(lambda: board.card_of(system.db, order_id) is not None, 30, "card recorded")
    # As it was in that moment: shown, not yet recorded.
    with system.db.transaction() as session:
        session.execute(delete(OrderCardRow).where(OrderCardRow.order_id == order_id))
    card = step(staff.ana, card, "✅ Aceptar", "👩‍🍳 En preparación")
    assert system.store.get(order_id).state is OrderState.ACEPTADO
    found = board.card_of(system.db, order_id)
    assert found is not None and found.message_id == card.message_id


def test_a_press_whose_bot_died_before_queueing_what_follows_completes_once(
    system: System, staff: Staff
) -> None:
    """A bot killed between committing Entregado and queueing what follows: the recovery
    sweep queues it, so the customer is told once and the order completes. A press that
    went through normally leaves nothing behind for the sweep."""
    from core.recovery.starts import KEY, PendingStarts
    from core.shopfloor.moves import Outcome
    from core.shopfloor.moves import press as press_move
    from tasks.shopfloor import move_unit

    chat = system.private_chat()
    order_id = check_out(system, chat, {"PZ-PEPP": 1}, "💵 Pagar al recibir")
    card = step(staff.ana, card_of(staff, order_id), "✅ Aceptar", "👩‍🍳 En preparación")
    card = step(staff.ana, card, "👩‍🍳 En preparación", "📦 Listo para recoger")
    card = step(staff.ana, card, "📦 Listo para recoger", "🤝 Entregado")
    assert not [m for m in system.client.zrange(KEY, 0, -1) if b"move:" in m]
    # The bot's half of a press on Entregado, as a bot killed right after its commit leaves it.
    PendingStarts(system.client).add("move", move_unit(order_id, OrderState.ENTREGADO))
    delivery = board.customer_of(system.db, order_id).delivery
    moved = press_move(system.store, order_id, OrderState.ENTREGADO, ANA, "Ana", delivery)
    assert moved.outcome is Outcome.MOVED

    chat.wait_for(lambda m: completed(m) and order_id in text_of(m), timeout=90)
    wait_until(
        lambda: system.store.get(order_id).state is OrderState.COMPLETADO, 30, "order completed"
    )
    assert told(chat, "está completado", order_id) == 1, chat.transcript_text()
    assert told(chat, "puedes pasar a recogerlo", order_id) == 1
    staff.ana.wait_for(lambda m: m.message_id == card.message_id and not m.button_texts, timeout=30)
