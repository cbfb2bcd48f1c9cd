"""The guided `/pedido`: ask what the user wants, then confirm it with buttons.

The state lives in Redis (core.conversation.store), never in the process, so a restart or another
replica continues the conversation. In groups the question is a ForceReply to its asker: the
answer then reaches the bot even in privacy mode, and only its asker's reply counts.
"""

from __future__ import annotations

from telegram import Chat, ForceReply, Message

from bot.context import BotContext, Incoming, on_message
from bot.handlers.common import addressed_to_bot, order_text_refusal
from bot.handlers.presses import Answer, Press, edit_pressed, remove_keyboard, remove_keyboard_of
from bot.markup import inline
from bot.placing import Confirmation, NewOrder, place
from bot.services import Services
from core import texts
from core.conversation.store import Conversation, Outcome
from core.keyboards import CHANGE, CONFIRM, LEAVE, conversation_keyboard
from core.orders.model import OrderTextError, clean_order_text


async def start(incoming: Incoming, context: BotContext) -> None:
    """Ask what the user wants to order (`/pedido` with no text)."""
    message, chat, user, lang = incoming.message, incoming.chat, incoming.user, incoming.lang
    svc = context.services
    previous = await svc.run(svc.conversations.get, chat.id, user.id)
    conv = await svc.run(svc.conversations.start, chat.id, user.id, lang)
    if chat.type == Chat.PRIVATE:
        question = await message.reply_html(
            texts.text(lang, "conversation.ask"),
            reply_markup=inline(
                conversation_keyboard(lang, chat.id, user.id, conv.token, confirm=False)
            ),
        )
    else:
        # A selective ForceReply, quoting the asker, opens the reply box for them alone.
        question = await message.reply_html(
            texts.text(lang, "conversation.ask"),
            reply_markup=ForceReply(
                selective=True, input_field_placeholder=texts.raw(lang, "conversation.placeholder")
            ),
            do_quote=True,
        )
    await svc.run(svc.conversations.shown_in, chat.id, user.id, conv.token, question.message_id)
    await svc.watch_conversation(chat.id, user.id, conv.token)
    if previous is not None and previous.message_id:
        # Starting again replaces the earlier conversation: its buttons are done.
        await remove_keyboard_of(context.bot, chat.id, previous.message_id)


def _without_mention(text: str, bot_username: str) -> str:
    mention = f"@{bot_username}"
    at = text.lower().find(mention.lower())
    return text if at < 0 else text[:at] + text[at + len(mention) :]


@on_message
async def answer(incoming: Incoming, context: BotContext) -> None:
    """A plain text: the answer of its sender's guided order; in private chats, else a hint."""
    message, chat, user, lang = incoming.message, incoming.chat, incoming.user, incoming.lang
    if message.text is None:
        return
    if message.sender_chat is not None:
        return  # an anonymous or channel sender has no conversation of its own
    bot = context.bot
    if not addressed_to_bot(message, bot.id, bot.username):
        return  # group chatter, not for us
    private = chat.type == Chat.PRIVATE
    svc = context.services
    conv = await svc.run(svc.conversations.get, chat.id, user.id)
    if conv is None:
        if private:
            await message.reply_html(texts.text(lang, "conversation.hint"))
        return
    if conv.expired(svc.conversations.clock()):
        await _expired(svc, conv, message, lang)
        return
    raw_text = _without_mention(message.text, bot.username)
    try:
        text = clean_order_text(raw_text)
    except OrderTextError as exc:
        # Still waiting: the user may try again.
        await message.reply_html(order_text_refusal(lang, exc, raw_text), do_quote=not private)
        return
    await _ask_to_confirm(incoming, context, conv, text)


async def _ask_to_confirm(
    incoming: Incoming, context: BotContext, conv: Conversation, text: str
) -> None:
    """Record the answer and ask to confirm it, with buttons on the new question only."""
    message, chat, user, lang = incoming.message, incoming.chat, incoming.user, incoming.lang
    svc = context.services
    outcome, asked = await svc.run(svc.conversations.answer, chat.id, user.id, conv.token, text)
    if outcome is Outcome.EXPIRED:
        await _expired(svc, conv, message, lang)
        return
    if asked is None:
        return  # a button or another message changed it meanwhile
    confirmation = await message.reply_html(
        texts.text(lang, "conversation.confirm", text=text),
        reply_markup=inline(
            conversation_keyboard(lang, chat.id, user.id, asked.token, confirm=True)
        ),
        do_quote=chat.type != Chat.PRIVATE,
    )
    await svc.run(
        svc.conversations.shown_in, chat.id, user.id, asked.token, confirmation.message_id
    )
    await svc.watch_conversation(chat.id, user.id, asked.token)
    if conv.message_id:
        # Only the current question keeps buttons (an older one's would only say "stale").
        await remove_keyboard_of(context.bot, chat.id, conv.message_id)


async def _expired(svc: Services, conv: Conversation, message: Message, lang: str) -> None:
    await svc.run(svc.conversations.forget, conv.chat_id, conv.user_id)
    await message.reply_html(texts.text(lang, "conversation.expired"))


async def on_button(press: Press, context: BotContext) -> Answer:
    """Confirmar, Cambiar or Cancelar of a guided order, for the user who started it."""
    chat, lang = press.chat, press.lang
    action, owner, token = press.pressed.fields
    if owner != str(press.user.id):
        return Answer(texts.plain(lang, "callback.not_yours"), alert=True)
    svc = context.services
    user_id = press.user.id
    conv = await svc.run(svc.conversations.get, chat.id, user_id)
    pressed_on = press.message.message_id
    if conv is None or conv.token != token:
        if conv is not None and conv.message_id != pressed_on:
            # An older question of a conversation that moved on (it carries this user's
            # signed buttons): its buttons are done. (With no conversation the message may
            # be an order's status message by now.)
            await remove_keyboard(press.query)
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    if conv.message_id and conv.message_id != pressed_on:
        # Only the conversation's own message acts (the order it places is bound to it).
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    return await _act(press, context, conv, action)


async def _act(press: Press, context: BotContext, conv: Conversation, action: str) -> Answer:
    """Do what the button of the conversation's current step says, if this press is first."""
    query, chat, lang = press.query, press.chat, press.lang
    # (on_button checked: the press is its owner's, on the step its button names)
    user_id, token = press.user.id, conv.token
    svc = context.services
    if action == CONFIRM:
        outcome = await svc.run(svc.conversations.confirm, chat.id, user_id, token)
        if outcome is Outcome.DONE:
            await _place(context, press, conv)
            return Answer(texts.plain(lang, "conversation.confirmed_toast"))
    elif action == CHANGE:
        outcome, asked = await svc.run(svc.conversations.change, chat.id, user_id, token)
        if asked is not None:
            await edit_pressed(
                query,
                texts.text(lang, "conversation.ask_again"),
                conversation_keyboard(lang, chat.id, user_id, asked.token, confirm=False),
            )
            await svc.watch_conversation(chat.id, user_id, asked.token)
            return Answer()
    elif action == LEAVE:
        outcome = await svc.run(svc.conversations.leave, chat.id, user_id, token)
        if outcome is Outcome.DONE:
            await edit_pressed(query, texts.text(lang, "conversation.left"))
            return Answer(texts.plain(lang, "conversation.left_toast"))
    else:
        outcome = Outcome.STALE
    if outcome is Outcome.EXPIRED:
        await svc.run(svc.conversations.forget, chat.id, user_id)
        await edit_pressed(query, texts.text(lang, "conversation.expired"))
        return Answer(texts.plain(lang, "conversation.expired_alert"), alert=True)
    # Another press got there first (a double tap): it acted, this one does nothing.
    return Answer(texts.plain(lang, "callback.stale"), alert=True)


async def _place(context: BotContext, press: Press, conv: Conversation) -> None:
    """Place the confirmed order (bot.placing); its confirmation message becomes its status
    message."""
    # The conversation's own message (on_button checked the press was on it). Keyed by it, a
    # re-delivered press finds the same order.
    confirmation = conv.message_id or press.message.message_id
    new = NewOrder(conv.chat_id, conv.user_id, confirmation, press.lang, conv.text)
    await place(context, new, Confirmation(press.query, confirmation))
