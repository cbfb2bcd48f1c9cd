"""Orders end to end: /pedido through the real chain, with progress edits in the chat."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import redis

from core.telegram.reachability import unreachable_key
from sandbox.client import Message
from tests.support.processes import wait_until
from tests.support.system import System

ORDER_ID = re.compile(r"P-[0-9A-Z]{6}")


def order_id_of(message: Message) -> str:
    match = ORDER_ID.search(message.text or "")
    assert match, message.text
    return match.group(0)


def is_status(message: Message) -> bool:
    return (message.text or "").startswith("🧾")


def completed(message: Message) -> bool:
    return "está completado" in (message.text or "") or "is complete" in (message.text or "")


def test_order_completes_with_every_step_shown_in_place(system: System) -> None:
    chat = system.private_chat()
    chat.send("/pedido 2 pizzas margarita")

    done = chat.wait_for(completed, timeout=30)
    status = chat.wait_for(lambda m: is_status(m) and "100%" in (m.text or ""), timeout=10)

    order_id = order_id_of(status)
    assert order_id in (done.text or "")
    shown = status.edits
    assert "0%" in shown[0] and "2 pizzas margarita" in shown[0]
    steps = [line for text in shown for line in text.splitlines() if line.startswith("Paso")]
    assert steps == [
        "Paso 1/3: validando pago",
        "Paso 2/3: preparando envío",
        "Paso 3/3: notificando",
    ]
    assert "Estado: completado" in shown[-1]
    bot_texts = [m.text for m in chat.bot_messages()]
    assert sum(1 for m in chat.bot_messages() if completed(m)) == 1, bot_texts
    assert sum(1 for m in chat.bot_messages() if is_status(m)) == 1, bot_texts


def test_estado_shows_the_order_and_the_list(system: System) -> None:
    chat = system.private_chat()
    chat.send("/pedido 1 empanada")
    chat.wait_for(completed, timeout=30)
    order_id = order_id_of(chat.wait_for(is_status))

    chat.send(f"/estado {order_id.lower()}")
    answer = chat.wait_for(lambda m: "Creado:" in (m.text or ""))
    assert order_id in (answer.text or "") and "completado" in (answer.text or "")
    assert "▰▰▰▰▰▰▰▰▰▰ 100%" in (answer.text or "")

    chat.send("/estado")
    listing = chat.wait_for(lambda m: "Tus pedidos recientes" in (m.text or ""))
    assert order_id in (listing.text or "") and "1 empanada" in (listing.text or "")


def test_unknown_malformed_and_foreign_ids_read_the_same(system: System) -> None:
    owner = system.private_chat()
    owner.send("/pedido algo privado")
    owner.wait_for(completed, timeout=30)
    foreign_id = order_id_of(owner.wait_for(is_status))

    stranger = system.private_chat()
    for query in (foreign_id, "P-ZZZZZZ", "hola<b>"):
        stranger.send(f"/estado {query}")
    answers = stranger.wait_for_count(lambda m: "No encontré ese pedido" in (m.text or ""), 3)
    assert len({a.text for a in answers}) == 1
    assert all("algo privado" not in (m.text or "") for m in stranger.bot_messages())


def test_bad_order_text_gets_a_clear_message_and_no_order(system: System) -> None:
    chat = system.private_chat()
    chat.send("/pedido")
    chat.wait_for(lambda m: "Dime qué quieres pedir" in (m.text or ""))
    chat.send("/pedido " + "x" * 501)
    chat.wait_for(lambda m: "como máximo 500 caracteres (tiene 501)" in (m.text or ""))
    chat.send("/pedido dos\u202epizzas")
    chat.wait_for(lambda m: "caracteres no válidos" in (m.text or ""))
    chat.send("/estado")
    chat.wait_for(lambda m: "Aún no tienes pedidos" in (m.text or ""))


def test_markup_in_the_order_is_shown_literally(system: System) -> None:
    chat = system.private_chat()
    chat.send("/pedido <b>2</b> pizzas & <i>fanta</i>")
    status = chat.wait_for(lambda m: is_status(m) and "100%" in (m.text or ""), timeout=30)
    assert "<b>2</b> pizzas & <i>fanta</i>" in (status.text or "")


def test_an_order_on_several_lines_with_emoji_is_placed_as_written(system: System) -> None:
    chat = system.private_chat()
    chat.send("/pedido 2 pizzas margarita\n1 coca cola para el 🧑\u200d🍳")
    status = chat.wait_for(lambda m: is_status(m) and "100%" in (m.text or ""), timeout=30)
    assert "2 pizzas margarita\n1 coca cola para el 🧑\u200d🍳" in (status.text or "")


def test_english_speaker_gets_english(system: System) -> None:
    chat = system.private_chat(language="en", first_name="Bob")
    chat.send("/order two pizzas")
    done = chat.wait_for(completed, timeout=30)
    assert "is complete" in (done.text or "")
    status = chat.wait_for(lambda m: is_status(m) and "100%" in (m.text or ""))
    assert "Step 1/3: validating payment" in "\n".join(status.edits)


def test_twenty_chats_at_once_each_complete_once(system: System) -> None:
    chats = [system.private_chat() for _ in range(20)]
    with ThreadPoolExecutor(20) as pool:
        list(pool.map(lambda c: c.send(f"/pedido pizza para {c.chat_id}"), chats))
    for chat in chats:
        chat.wait_for(completed, timeout=90)
    for chat in chats:
        finals = [m for m in chat.bot_messages() if completed(m)]
        assert len(finals) == 1, [m.text for m in chat.bot_messages()]


def test_a_chat_that_unblocks_the_bot_hears_from_it_again(system: System) -> None:
    chat = system.private_chat()
    system.sandbox.block_chat(chat.chat_id)
    chat.send("/pedido 1 pizza mientras está bloqueado")
    # The worker meets the 403 and stops sending to this chat.
    redis_client = redis.Redis.from_url(system.redis.url, decode_responses=True)
    wait_until(lambda: redis_client.exists(unreachable_key(chat.chat_id)), 30, "chat marked")
    assert chat.bot_messages() == []

    system.sandbox.unblock_chat(chat.chat_id)
    chat.send("/pedido 2 pizzas ya desbloqueado")
    done = chat.wait_for(completed, timeout=30)
    assert "está completado" in (done.text or "")
