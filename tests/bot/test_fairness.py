"""The fair update processor lets a payment question through when every slot is held and the
customer's own line is busy: Telegram fails a payment not answered within 10 s."""

from __future__ import annotations

import asyncio

from telegram import (
    CallbackQuery,
    Chat,
    Message,
    PreCheckoutQuery,
    SuccessfulPayment,
    Update,
    User,
)

from bot.fairness import FairUpdateProcessor

ANA = User(1001, "Ana", False)


def message_update(update_id: int) -> Update:
    chat = Chat(1001, "private")
    return Update(update_id, message=Message(update_id, None, chat, from_user=ANA))  # type: ignore[arg-type]


def pre_checkout_update(update_id: int) -> Update:
    query = PreCheckoutQuery("q1", ANA, "EUR", 950, "p1:P-ABCDEF:mac")
    return Update(update_id, pre_checkout_query=query)


def payment_update(update_id: int) -> Update:
    paid = SuccessfulPayment("EUR", 950, "p1:P-ABCDEF:mac", f"tg-{update_id}", f"pp-{update_id}")
    chat = Chat(1001, "private")
    message = Message(update_id, None, chat, from_user=ANA, successful_payment=paid)  # type: ignore[arg-type]
    return Update(update_id, message=message)


def beside_a_busy_chat(update: Update, running: int) -> list[str]:
    """What finishes first: `update`, or three messages of the same customer, the first of
    which holds a slot (of `running`) until `update` is done."""

    async def scenario() -> list[str]:
        processor = FairUpdateProcessor(running=running)
        release, started = asyncio.Event(), asyncio.Event()
        done: list[str] = []

        async def busy() -> None:
            started.set()
            await release.wait()
            done.append("message")

        async def handle() -> None:
            done.append("update")

        held = [
            asyncio.create_task(processor.do_process_update(message_update(i), busy()))
            for i in range(3)
        ]
        # The first message holds its slot before the update comes.
        await asyncio.wait_for(started.wait(), 2.0)
        await asyncio.wait_for(processor.do_process_update(update, handle()), 2.0)
        release.set()
        await asyncio.gather(*held)
        return done

    return asyncio.run(scenario())


def test_a_pre_checkout_query_needs_no_slot_and_no_line() -> None:
    # The only slot is held by the same customer's message, with more of theirs waiting.
    done = beside_a_busy_chat(pre_checkout_update(9), running=1)
    assert done == ["update", "message", "message", "message"]


def test_a_payment_is_recorded_before_the_chats_earlier_messages_are_answered() -> None:
    """Forty status questions, each reply paced at 1 message/s, must not keep a taken payment
    unrecorded for forty seconds: the payment takes a free slot beside them."""
    done = beside_a_busy_chat(payment_update(9), running=2)
    assert done == ["update", "message", "message", "message"]


def most_at_once(updates: list[Update]) -> int:
    """How many of `updates` a processor with four slots ran at the same time."""

    async def scenario() -> int:
        processor = FairUpdateProcessor(running=4)
        running, most = 0, 0

        async def work() -> None:
            nonlocal running, most
            running += 1
            most = max(most, running)
            # Give the loop to every other update (a second one of the chat would run now if
            # the processor let it) before finishing.
            for _ in range(10):
                await asyncio.sleep(0)
            running -= 1

        await asyncio.gather(*(processor.do_process_update(u, work()) for u in updates))
        return most

    return asyncio.run(scenario())


def test_payments_of_one_chat_are_recorded_one_at_a_time() -> None:
    assert most_at_once([payment_update(n) for n in range(4)]) == 1


def test_messages_of_one_chat_still_run_one_at_a_time() -> None:
    assert most_at_once([message_update(n) for n in range(5)]) == 1


STAFF_CHAT = -100_500


def card_press(update_id: int, card: int) -> Update:
    group = Chat(STAFF_CHAT, "supergroup")
    message = Message(card, None, group, from_user=ANA)  # type: ignore[arg-type]
    query = CallbackQuery(str(update_id), ANA, "instance", message=message, data="f:a:P-X")
    return Update(update_id, callback_query=query)


def test_presses_on_staff_cards_line_up_per_card_and_need_no_slot() -> None:
    """The staff chat's presses: many cards at once, each card's presses in order, none
    waiting for a slot held by replies."""

    async def scenario() -> tuple[int, list[int]]:
        processor = FairUpdateProcessor(running=1, presses_by_card=frozenset({STAFF_CHAT}))
        release, started = asyncio.Event(), asyncio.Event()
        running, most, order = 0, 0, []

        async def busy() -> None:
            started.set()
            await release.wait()

        async def press(card: int) -> None:
            nonlocal running, most
            running += 1
            most = max(most, running)
            for _ in range(10):
                await asyncio.sleep(0)
            order.append(card)
            running -= 1

        held = asyncio.create_task(processor.do_process_update(message_update(1), busy()))
        await asyncio.wait_for(started.wait(), 2.0)
        presses = [
            processor.do_process_update(card_press(10 + i, card), press(card))
            for i, card in enumerate((7, 8, 9, 7))
        ]
        await asyncio.wait_for(asyncio.gather(*presses), 2.0)
        release.set()
        await held
        return most, order

    most, order = asyncio.run(scenario())
    assert most == 3  # three cards at once; the second press on card 7 after the first
    assert order.index(7) < len(order) - 1 and order[-1] == 7
