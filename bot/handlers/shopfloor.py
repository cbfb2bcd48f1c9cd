"""Presses on order cards in the staff chat (core.shopfloor): each move is one conditional
transition made here, with the staff member in the order's history; the workers then refresh
the card and the status message and tell the customer (tasks.shopfloor). Two people pressing
at once make one move; the other is told who made it."""

from __future__ import annotations

import logging
import time

from telegram.error import TelegramError

from bot.context import BotContext
from bot.handlers.presses import Answer, Press, remove_keyboard, remove_keyboard_of
from bot.handlers.shopfloor_access import is_floor_staff
from bot.markup import inline
from bot.services import Services
from core import texts
from core.orders.model import normalize_order_id
from core.orders.states import OrderState
from core.shopfloor import board
from core.shopfloor.cards import card_keyboard, reasons_keyboard
from core.shopfloor.moves import MOVES, REASONS, Action, Outcome, Pressed, press
from tasks import context as worker
from tasks import shopfloor as floor_tasks

log = logging.getLogger(__name__)


async def on_button(pressed: Press, context: BotContext) -> Answer:
    """A card's button (or /cola's Abrir): staff only; anything else changes nothing."""
    lang = pressed.lang
    if not await is_floor_staff(context, pressed.user):
        log.info("card press refused: user=%s is not staff", pressed.user.id)
        return Answer(texts.plain(lang, "floor.toast.not_staff"), alert=True)
    raw_action, raw_id = pressed.pressed.fields
    order_id = normalize_order_id(raw_id)
    if order_id is None:
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    if raw_action == Action.OPEN:
        return await _open(pressed, context, order_id)
    svc = context.services
    if raw_action in (Action.REJECT, Action.BACK):
        return await _keyboard(pressed, context, order_id, raw_action)
    wanted, reason = _wanted(raw_action)
    if wanted is None:
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    name = pressed.user.full_name or str(pressed.user.id)
    # One hop off the event loop for the whole move: a burst of presses waits on nothing else.
    result = await svc.run(_move, svc, pressed, order_id, wanted, name, reason)
    if result is None:
        # An older card of this order (it was posted again elsewhere): its buttons go.
        await remove_keyboard(pressed.query)
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    if result.outcome is Outcome.MOVED:
        state = texts.state_name(lang, wanted)
        return Answer(texts.plain(lang, "floor.toast.moved", id=order_id, state=state))
    return await _too_late(context, result, lang)


def _move(
    svc: Services, pressed: Press, order_id: str, wanted: OrderState, name: str, reason: str
) -> Pressed | None:
    """On the order's current card: the move, and what follows it queued (None: not its
    card)."""
    db = svc.store.db
    chat_id, message_id = pressed.chat.id, pressed.message.message_id
    # Only on the order's card. With none recorded yet (the worker records a card just after
    # sending it: a press within moments of its arrival), the bot's own signed button for
    # this order makes the pressed message the card; the worker's record then writes the same.
    thread = pressed.message.message_thread_id if pressed.message.is_topic_message else 0
    card = board.Card(order_id, chat_id, message_id, thread or 0)
    if not board.claim_card(db, card, time.time()):
        return None
    delivery = board.customer_of(db, order_id).delivery
    note = texts.raw("es", f"floor.reason.{reason}") if reason else ""
    # Pending before the commit: if this bot dies between the press and queueing what
    # follows, the recovery sweep queues it (tasks.shopfloor.start_unqueued_move).
    unit = floor_tasks.move_unit(order_id, wanted, reason)
    svc.starts.add("move", unit)
    result = press(svc.store, order_id, wanted, pressed.user.id, name, delivery, note)
    if result.outcome is Outcome.MOVED:
        floor_tasks.after_move(order_id, wanted, reason, svc.starts)
    else:
        svc.starts.done("move", unit)
    return result


def _wanted(raw_action: str) -> tuple[OrderState | None, str]:
    """The state a button asks for, and a rejection's reason code."""
    if raw_action.startswith(Action.REJECT) and raw_action[1:].isdigit():
        index = int(raw_action[1:])
        return (OrderState.CANCELADO, REASONS[index]) if index < len(REASONS) else (None, "")
    try:
        return MOVES.get(Action(raw_action)), ""
    except ValueError:
        return None, ""


async def _too_late(context: BotContext, result: Pressed, lang: str) -> Answer:
    """Someone else moved the order first: say who, and show the card as it is now."""
    order = result.order
    if order is None:
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    await context.services.run(worker.shop_floor().refresh_card, order)
    state = texts.state_name(lang, order.state)
    if result.by:
        at = texts.format_time(result.at)
        words = texts.plain(
            lang, "floor.toast.taken", id=order.id, state=state, who=result.by, at=at
        )
    else:
        words = texts.plain(lang, "floor.toast.state", id=order.id, state=state)
    return Answer(words, alert=True)


async def _keyboard(pressed: Press, context: BotContext, order_id: str, action: str) -> Answer:
    """Rechazar shows the reasons; Volver the card's moves again."""
    svc = context.services
    order = await svc.run(svc.store.get, order_id)
    chat_id = pressed.chat.id
    if action == Action.REJECT:
        keyboard = reasons_keyboard(order_id, chat_id)
    else:
        delivery = (await svc.run(board.customer_of, svc.store.db, order_id)).delivery
        keyboard = card_keyboard(order, chat_id, delivery)
    try:
        await pressed.query.edit_message_reply_markup(inline(keyboard))
    except TelegramError as exc:
        log.info("order=%s card keyboard not changed: %s", order_id, exc)
    if action == Action.REJECT:
        return Answer(texts.plain(pressed.lang, "floor.toast.why"))
    return Answer()


async def _open(pressed: Press, context: BotContext, order_id: str) -> Answer:
    """Post the order's card here (it becomes the order's card; the old one loses its
    buttons)."""
    svc = context.services
    try:
        order = await svc.run(svc.store.get, order_id)
    except KeyError:
        return Answer(texts.plain(pressed.lang, "callback.stale"), alert=True)
    old = await svc.run(board.card_of, svc.store.db, order_id)
    key = f"order:{order_id}:card:{pressed.chat.id}:{pressed.query.id}"
    floor = worker.shop_floor()
    # In a forum group, in the topic where it was asked for.
    topic = pressed.message.message_thread_id if pressed.message.is_topic_message else None
    await svc.run(floor.post, order, pressed.chat.id, topic or 0, key)
    if old is not None:
        await remove_keyboard_of(context.bot, old.chat_id, old.message_id)
    return Answer()
