"""Inline button presses: the callback_query update, and the bot's answer shown to the user."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from sandbox.bots import CALLBACK_QUERY_TTL, BotState, CallbackQuery
from sandbox.core import ControlError, Sandbox
from sandbox.model import Chat, Message, User


def press(
    sb: Sandbox,
    bot: BotState,
    chat: Chat,
    user: User,
    text: str | None = None,
    data: str | None = None,
    message_id: int | None = None,
    forged: bool = False,
) -> CallbackQuery:
    """Press the inline button with this text (or data) on the latest bot message having it.

    `forged`: send `data` on message `message_id` whatever its buttons, as a modified
    client can (Telegram does not check callback data against the message's keyboard)."""
    if forged:
        target = chat.messages.get(message_id) if message_id is not None else None
        if target is None or data is None:
            raise ControlError(400, "a forged press needs callback_data and a message_id")
        return _make_query(sb, bot, chat, user, target, data)
    candidates = (
        ([chat.messages[message_id]] if message_id in chat.messages else [])
        if message_id is not None
        else [m for m in reversed(list(chat.messages.values())) if m.from_bot and not m.deleted]
    )
    if message_id is not None and not candidates:
        raise ControlError(404, f"no message {message_id} in chat {chat.id}")
    for message in candidates:
        rows = (message.reply_markup or {}).get("inline_keyboard", [])
        for row in rows:
            for button in row:
                if text is not None and button.get("text") != text:
                    continue
                if data is not None and button.get("callback_data") != data:
                    continue
                if "callback_data" not in button:
                    raise ControlError(400, f"button {button.get('text')!r} has no callback_data")
                return _make_query(sb, bot, chat, user, message, str(button["callback_data"]))
    wanted = f"text {text!r}" if text is not None else f"data {data!r}"
    raise ControlError(404, f"no inline button with {wanted} in chat {chat.id}")


def _make_query(
    sb: Sandbox, bot: BotState, chat: Chat, user: User, message: Message, data: str
) -> CallbackQuery:
    query = CallbackQuery(
        id=str(secrets.randbits(63)),
        chat_id=chat.id,
        message_id=message.message_id,
        user=user,
        data=data,
        created=sb.now(),
    )
    bot.callback_queries[query.id] = query
    payload = {
        "id": query.id,
        "from": user.to_api(),
        "message": message.to_api(),
        "chat_instance": chat.instance,
        "data": data,
    }
    # A press waits 150 s at most, in a queue of its user's presses (telegram-bot-api).
    bot.push_update("callback_query", payload, queue=f"user:{user.id}", ttl=CALLBACK_QUERY_TTL)
    sb.events.publish(
        {
            "type": "callback_query",
            "bot_id": bot.id,
            "chat_id": chat.id,
            "query_id": query.id,
            "message_id": message.message_id,
            "data": data,
            "from": user.to_api(),
        }
    )
    return query


def answer_query(sb: Sandbox, bot: BotState, query: CallbackQuery, answer: dict[str, Any]) -> None:
    """Record the bot's answer and show it where the button was."""
    query.answered = True
    query.answer = answer
    query.done.set()
    chat = bot.chats.get(query.chat_id)
    if chat is not None and query.message_id in chat.messages:
        chat.messages[query.message_id].callback_answers.append({"query_id": query.id, **answer})
    sb.events.publish(
        {
            "type": "callback_answer",
            "bot_id": bot.id,
            "chat_id": query.chat_id,
            "query_id": query.id,
            "message_id": query.message_id,
            **answer,
        }
    )


async def wait_answer(query: CallbackQuery, timeout: float) -> bool:
    """Whether the query is answered within `timeout` seconds."""
    if query.answered:
        return True
    try:
        await asyncio.wait_for(query.done.wait(), timeout)
    except TimeoutError:
        return False
    return query.answered
