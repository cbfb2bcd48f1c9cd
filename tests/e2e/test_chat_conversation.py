"""The guided /pedido end to end: ask, answer, confirm with buttons; change, leave, time out,
press twice, and carry on across bot restarts (the state is in Redis)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis

from core.conversation.store import ConversationStore
from core.orders.store import OrderStore
from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from tests.support.chat import (
    WORDS,
    buttons_of,
    chat_system,
    containing,
    count_containing,
    is_status,
    order_id_of,
    restart_bot,
    text_of,
)
from tests.support.processes import wait_until
from tests.support.system import System


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    with chat_system(tmp_path_factory, sandbox_server) as running:
        yield running


@pytest.fixture(scope="module")
def store(system: System) -> OrderStore:
    return system.store


def ask(chat: Chat, lang: str) -> Message:
    """`/pedido` alone; the question."""
    sent = chat.send(WORDS[lang]["order"])
    return chat.wait_for(containing(WORDS[lang]["ask"], after=sent.message_id))


def answer(chat: Chat, lang: str, text: str) -> Message:
    """The user writes what they want; the confirmation question."""
    sent = chat.send(text)
    return chat.wait_for(containing(WORDS[lang]["confirm_question"], after=sent.message_id))


@pytest.mark.parametrize("lang", ["es", "en"])
def test_guided_order_asks_confirms_and_completes_in_the_same_message(
    system: System, store: OrderStore, lang: str
) -> None:
    words = WORDS[lang]
    chat = system.private_chat(language=lang)

    question = ask(chat, lang)
    assert buttons_of(question) == [words["cancel_button"]]
    confirmation = answer(chat, lang, "2 pizzas <margarita>")
    assert "2 pizzas &lt;margarita&gt;" not in text_of(confirmation)  # shown literally
    assert "2 pizzas <margarita>" in text_of(confirmation)
    assert buttons_of(confirmation) == [words["confirm"], words["change"], words["cancel_button"]]

    toast = chat.callback_answer(chat.press(words["confirm"], message_id=confirmation.message_id))

    assert toast["text"] == {"es": "Pedido confirmado", "en": "Order confirmed"}[lang]
    chat.wait_for(containing(words["completed"]), timeout=20)
    status = chat.wait_for(
        lambda m: m.message_id == confirmation.message_id and "100%" in text_of(m)
    )
    assert is_status(status) and words["completed_state"] in text_of(status)
    order = store.get(order_id_of(status))
    assert order.text == "2 pizzas <margarita>" and order.language == lang
    assert store.count(chat.chat_id) == 1


def test_cambiar_asks_again_and_the_new_text_is_ordered(system: System, store: OrderStore) -> None:
    chat = system.private_chat()
    ask(chat, "es")
    first = answer(chat, "es", "1 pizza")

    chat.callback_answer(chat.press("Cambiar", message_id=first.message_id))

    chat.wait_for(lambda m: m.message_id == first.message_id and "escribe de nuevo" in text_of(m))
    second = answer(chat, "es", "2 pizzas y una fanta")
    chat.callback_answer(chat.press("Confirmar", message_id=second.message_id))
    chat.wait_for(containing("está completado"), timeout=20)
    assert [o.text for o in store.recent(chat.chat_id)] == ["2 pizzas y una fanta"]


@pytest.mark.parametrize("lang", ["es", "en"])
def test_leaving_with_the_button_or_the_command_orders_nothing(
    system: System, store: OrderStore, lang: str
) -> None:
    words = WORDS[lang]
    chat = system.private_chat(language=lang)
    confirmation = (ask(chat, lang), answer(chat, lang, "3 helados"))[1]
    left = chat.callback_answer(
        chat.press(words["cancel_button"], message_id=confirmation.message_id)
    )
    assert left["text"] == {"es": "Pedido descartado", "en": "Order discarded"}[lang]
    chat.wait_for(lambda m: m.message_id == confirmation.message_id and "👋" in text_of(m))

    ask(chat, lang)
    sent = chat.send(words["cancel"])
    chat.wait_for(containing("👋", after=sent.message_id))
    # No conversation any more: a plain text is not an order.
    sent = chat.send("4 helados")
    chat.wait_for(containing("🤔", after=sent.message_id))
    assert store.count(chat.chat_id) == 0


def test_a_double_tap_on_confirmar_places_one_order(system: System, store: OrderStore) -> None:
    chat = system.private_chat()
    ask(chat, "es")
    confirmation = answer(chat, "es", "una sola pizza")
    assert confirmation.reply_markup is not None
    confirm = next(
        button["callback_data"]
        for row in confirmation.reply_markup["inline_keyboard"]
        for button in row
        if button["text"] == "Confirmar"
    )
    start = threading.Barrier(2)
    queries: list[str] = []

    def press() -> None:
        # Both taps carry the button the customer's app showed, as two taps in flight do: the
        # second may reach the sandbox after the first one's edit took the button away.
        start.wait()
        queries.append(chat.press(data=confirm, message_id=confirmation.message_id, forged=True))

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answers = [chat.callback_answer(q) for q in queries]

    assert sorted(a["text"] for a in answers) == [
        "Este mensaje ya no está al día: usa el más reciente.",
        "Pedido confirmado",
    ]
    chat.wait_for(containing("está completado"), timeout=20)
    assert store.count(chat.chat_id) == 1
    assert count_containing(chat, "está completado") == 1
    # The late press left the order's buttons alone.
    status = chat.wait_for(lambda m: m.message_id == confirmation.message_id)
    assert "100%" in text_of(status) and buttons_of(status) == ["Actualizar"]


def test_only_the_latest_question_keeps_its_buttons(system: System, store: OrderStore) -> None:
    chat = system.private_chat()
    abandoned = ask(chat, "es")
    question = ask(chat, "es")  # starting again replaces the first conversation
    older = answer(chat, "es", "pizza fría")
    newer = answer(chat, "es", "pizza caliente")

    def buttons_now(message: Message) -> list[str]:
        return next(
            buttons_of(m) for m in chat.bot_messages() if m.message_id == message.message_id
        )

    # Older questions lose their buttons, so nobody confirms what they no longer want.
    chat.wait(
        lambda _: not any(buttons_now(m) for m in (abandoned, question, older)),
        what="old buttons gone",
    )
    assert buttons_now(newer) == ["Confirmar", "Cambiar", "Cancelar"]
    chat.callback_answer(chat.press("Confirmar", message_id=newer.message_id))
    chat.wait_for(containing("está completado"), timeout=20)
    assert [o.text for o in store.recent(chat.chat_id)] == ["pizza caliente"]


def test_bad_text_is_explained_and_the_question_stays_open(system: System) -> None:
    chat = system.private_chat(language="en")
    ask(chat, "en")
    sent = chat.send("x" * 501)
    chat.wait_for(containing("at most 500 characters (it has 501)", after=sent.message_id))
    answer(chat, "en", "two tacos")


def wait_past_timeout(system: System, chats: list[Chat]) -> None:
    """Until the chats' conversations are out of time (their deadlines, as stored in Redis)."""
    client = redis.Redis.from_url(system.redis.url, decode_responses=True)
    keys = [ConversationStore.key(chat.chat_id, chat.chat_id) for chat in chats]
    deadline = max(float(client.hget(key, "expires_at") or 0) for key in keys)
    assert deadline
    wait_until(lambda: time.time() > deadline, 10, "the conversations' deadline")


def test_a_conversation_times_out(system: System, store: OrderStore) -> None:
    restart_bot(system, CONVERSATION_TIMEOUT="2s")
    try:
        # Per language: one chat answers too late, one presses Confirmar too late.
        answering = {lang: system.private_chat(language=lang) for lang in WORDS}
        confirming = {lang: system.private_chat(language=lang) for lang in WORDS}
        confirmations = {}
        for lang in WORDS:
            ask(answering[lang], lang)
            ask(confirming[lang], lang)
            confirmations[lang] = answer(confirming[lang], lang, "2 pizzas, a tiempo")
        wait_past_timeout(system, [*answering.values(), *confirming.values()])

        for lang, words in WORDS.items():
            chat = answering[lang]
            sent = chat.send("2 pizzas, tarde")
            late = chat.wait_for(containing("⌛", after=sent.message_id))
            assert words["order"] in text_of(late)

            chat, confirmation = confirming[lang], confirmations[lang]
            alert = chat.callback_answer(
                chat.press(words["confirm"], message_id=confirmation.message_id)
            )
            assert alert["show_alert"]
            assert alert["text"].startswith(
                {"es": "Se acabó el tiempo", "en": "Time ran out"}[lang]
            )
            edited = confirmation.message_id
            chat.wait_for(lambda m, edited=edited: m.message_id == edited and "⌛" in text_of(m))
        assert all(store.count(c.chat_id) == 0 for c in [*answering.values(), *confirming.values()])
    finally:
        restart_bot(system)


def test_a_conversation_carries_on_across_bot_restarts(system: System, store: OrderStore) -> None:
    chat = system.private_chat()
    ask(chat, "es")

    restart_bot(system)
    confirmation = answer(chat, "es", "pizza tras reiniciar")
    restart_bot(system)
    toast = chat.callback_answer(chat.press("Confirmar", message_id=confirmation.message_id))

    assert toast["text"] == "Pedido confirmado"
    chat.wait_for(containing("está completado"), timeout=20)
    assert [o.text for o in store.recent(chat.chat_id)] == ["pizza tras reiniciar"]


def test_a_user_who_walks_away_is_told_the_guided_order_timed_out(system: System) -> None:
    restart_bot(system, CONVERSATION_TIMEOUT="1s")
    try:
        for lang, words in WORDS.items():
            chat = system.private_chat(language=lang)
            question = ask(chat, lang)
            # Nobody writes anything: a worker says it timed out, once, and the buttons go.
            told = chat.wait_for(containing("⌛", after=question.message_id), timeout=20)
            assert words["order"] in text_of(told)
            chat.wait_for(lambda m, q=question.message_id: m.message_id == q and not m.buttons)
            assert len([m for m in chat.bot_messages() if "⌛" in text_of(m)]) == 1
    finally:
        restart_bot(system)
