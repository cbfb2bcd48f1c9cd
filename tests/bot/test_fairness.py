"""The fair update processor lets a payment question through when every slot is held and the
customer's own line is busy: Telegram fails a payment not answered within 10 s."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, PreCheckoutQuery, Update, User

from bot.fairness import FairUpdateProcessor

ANA = User(1001, "Ana", False)


def message_update(update_id: int) -> Update:
    chat = Chat(1001, "private")
    return Update(update_id, message=Message(update_id, None, chat, from_user=ANA))  # type: ignore[arg-type]


def pre_checkout_update(update_id: int) -> Update:
    query = PreCheckoutQuery("q1", ANA, "EUR", 950, "p1:P-ABCDEF:mac")
    return Update(update_id, pre_checkout_query=query)


def test_a_pre_checkout_query_needs_no_slot_and_no_line() -> None:
    async def scenario() -> list[str]:
        processor = FairUpdateProcessor(running=1)
        release, started = asyncio.Event(), asyncio.Event()
        done: list[str] = []

        async def busy() -> None:
            started.set()
            await release.wait()
            done.append("message")

        async def answer() -> None:
            done.append("pre_checkout")

        # The only slot is held by the same customer's message, with more of theirs waiting.
        held = [
            asyncio.create_task(processor.do_process_update(message_update(i), busy()))
            for i in range(3)
        ]
        # The first message holds the slot before the question comes.
        await asyncio.wait_for(started.wait(), 2.0)
        await asyncio.wait_for(processor.do_process_update(pre_checkout_update(9), answer()), 2.0)
        release.set()
        await asyncio.gather(*held)
        return done

    assert asyncio.run(scenario()) == ["pre_checkout", "message", "message", "message"]


def test_messages_of_one_chat_still_run_one_at_a_time() -> None:
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

        await asyncio.gather(
            *(processor.do_process_update(message_update(i), work()) for i in range(5))
        )
        return most

    assert asyncio.run(scenario()) == 1
