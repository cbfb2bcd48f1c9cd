"""Every inline button press: checked, acted on by whom it is for, then answered exactly once.

Each kind of button (core.keyboards) has its own `CallbackQueryHandler(…, pattern=…)`, made by
`on` and registered in bot.app next to the command that shows those buttons; `guard` runs in a
handler group before them all, and `unanswered` after them.

Telegram shows a spinner on a pressed button until the bot answers the callback query
(https://core.telegram.org/bots/api#answercallbackquery), so every press gets an answer,
even one we cannot act on or one whose handling failed. A press by someone the buttons
are not for, or on a message that is no longer current, gets a short alert and changes
nothing.

A modified client can send any callback data on any message it can see. So a press acts
only when its data is signed for this chat (core.keyboards) and is one of the buttons of
the pressed message as Telegram sends it to us (the client cannot change that copy): data
from one message pressed on another, or made up, is refused before anything is looked up.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from telegram import CallbackQuery, Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler

from bot.context import BotContext
from bot.handlers import request_quota
from bot.handlers.cancelar import cancel
from bot.handlers.common import language_of
from bot.handlers.presses import Answer, Press, remove_keyboard
from core import texts
from core.keyboards import CANCEL, REFRESH, parse
from core.orders.cancel import CancelOutcome
from core.orders.model import normalize_order_id

log = logging.getLogger(__name__)


Acts = Callable[[Press, BotContext], Awaitable[Answer]]


async def guard(update: Update, context: BotContext) -> None:
    """Before any button's handler (a handler group of its own): a press not signed for this
    chat, or not a button of the pressed message, is answered as stale and goes no further;
    nor does one over its sender's request quota (bot.handlers.request_quota)."""
    query = update.callback_query
    if query is None:
        return
    lang = language_of(update)
    press = _checked(update, query, lang)
    if press is None:
        await _answer(query, Answer(_stale(lang), alert=True))
        raise ApplicationHandlerStop
    over = await request_quota.press(query, context, press.chat.id, lang)
    if over:
        await _answer(query, Answer(over, alert=True))
        raise ApplicationHandlerStop


def on(kind: str, act: Acts) -> CallbackQueryHandler[BotContext, None]:
    """The handler of one kind of button (core.keyboards' kinds, the data's first field):
    `act` gets the checked press; what it returns is the query's one answer, and a failure
    is answered too."""

    async def handle(update: Update, context: BotContext) -> None:
        query = update.callback_query
        assert query is not None  # a CallbackQueryHandler's update
        lang = language_of(update)
        press = _checked(update, query, lang)  # the guard let it through: signed and current
        try:
            answer = await act(press, context) if press else Answer(_stale(lang), alert=True)
        except Exception:
            await _answer(query, Answer(texts.plain(lang, "callback.error"), alert=True))
            raise
        await _answer(query, answer)

    return CallbackQueryHandler(handle, pattern=f"^{re.escape(kind)}:")


async def unanswered(update: Update, context: BotContext) -> None:
    """After every kind's handler: a press none of them took still gets its answer."""
    query = update.callback_query
    if query is not None:
        await _answer(query, Answer(_stale(language_of(update)), alert=True))


def _stale(lang: str) -> str:
    return texts.plain(lang, "callback.stale")


def _checked(update: Update, query: CallbackQuery, lang: str) -> Press | None:
    """The press, when its data is signed for this chat and is a button of the pressed
    message; None (logged) for anything else."""
    chat, message = update.effective_chat, query.message
    pressed = parse(query.data, chat.id) if chat is not None else None
    if chat is None or pressed is None or not _on_its_message(query):
        log.info(
            "press refused chat=%s user=%s message=%s: not a button of that message",
            chat.id if chat else None,
            query.from_user.id,
            message.message_id if message else None,
        )
        return None
    assert isinstance(message, Message)  # _on_its_message: the message and its keyboard
    return Press(update, query, message, chat, query.from_user, lang, pressed)


def _on_its_message(query: CallbackQuery) -> bool:
    """The pressed data is a button of the pressed message (as Telegram holds it)."""
    message = query.message
    # An InaccessibleMessage (too old, deleted) has no keyboard to check against.
    if not isinstance(message, Message) or message.reply_markup is None:
        return False
    return any(
        button.callback_data == query.data
        for row in message.reply_markup.inline_keyboard
        for button in row
    )


async def _answer(query: CallbackQuery, answer: Answer) -> None:
    try:
        await query.answer(answer.text or None, show_alert=answer.alert)
    except TelegramError as exc:
        # Too old (Telegram waits about 15 s) or answered already: nothing left to stop.
        log.info("callback query %s not answered: %s", query.id, exc)


async def order_button(press: Press, context: BotContext) -> Answer:
    """Actualizar or Cancelar on a status message, for the customer who placed the order."""
    action, raw_id = press.pressed.fields
    lang = press.lang
    svc = context.services
    order_id = normalize_order_id(raw_id)
    order = await svc.run(svc.store.find, order_id, press.chat.id) if order_id else None
    if order is None:
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    if order.user_id != press.user.id:
        return Answer(texts.plain(lang, "callback.not_yours"), alert=True)
    # (0: the bot has sent it and not yet recorded it, so the pressed message is the one.)
    if order.status_message_id and press.message.message_id != order.status_message_id:
        # A message that carries this order's own signed buttons but is no longer its status
        # message (a duplicate the worker replaced): its buttons go, so nobody presses them.
        await remove_keyboard(press.query)
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    if action == REFRESH:
        # Through the workers' delivery path, so the newest text stays the one shown.
        await svc.run(svc.fulfilment().show_status, order, True)
        return Answer(texts.plain(lang, "callback.refreshed"))
    if action != CANCEL:
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    result = await cancel(svc, order.id, press.chat.id, press.user.id)
    if result.outcome is CancelOutcome.CANCELLED:
        return Answer(texts.plain(lang, "cancel.toast", id=order.id))
    if result.outcome is CancelOutcome.ALREADY_CANCELLED:
        return Answer(texts.plain(lang, "cancel.already_alert", id=order.id), alert=True)
    if result.outcome is CancelOutcome.FINISHED and result.order is not None:
        # Too late: the message shows the final state, without Cancelar.
        await svc.run(svc.fulfilment().show_status, result.order, True)
        state = texts.state_name(lang, result.order.state)
        return Answer(
            texts.plain(lang, "cancel.finished_alert", id=order.id, state=state), alert=True
        )
    return Answer(texts.plain(lang, "callback.stale"), alert=True)
