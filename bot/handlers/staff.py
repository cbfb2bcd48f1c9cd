"""The buttons of staff cards (Atendido, Posponer, Reintentar, Cancelar y avisar), and what
/estado adds for staff: every action taken on the order."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.common import language_of
from bot.handlers.presses import Answer
from bot.handlers.staff_access import is_staff
from bot.services import services
from core import texts
from core.keyboards import Pressed
from core.orders.model import normalize_order_id
from core.staff.actions import Actor, PressResult
from core.staff.cards import action_name, record_line
from core.staff.desk import Action, Record, Verdict

log = logging.getLogger(__name__)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE, pressed: Pressed) -> Answer:
    """One press on a card: the first press of a round acts, any other is told who did."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and query.message is not None and chat is not None
    lang = language_of(update)
    if not is_staff(update, context):
        return Answer(texts.plain(lang, "staff.toast.not_staff"), alert=True)
    raw_action, raw_id, raw_round = pressed.fields
    order_id = normalize_order_id(raw_id)
    try:
        action, round_ = Action(raw_action), int(raw_round)
    except ValueError:
        order_id = None
    if order_id is None:
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    user = query.from_user
    actor = Actor(user.id, user.full_name, chat.id)
    svc = services(context)
    actions = svc.staff_actions()
    result: PressResult = await svc.run(actions.press, order_id, round_, action, actor)
    verdict = result.outcome.verdict
    if verdict in (Verdict.DONE, Verdict.ANSWERED) and result.order is not None:
        closing = result.record if verdict is Verdict.DONE else result.outcome.last
        if closing is not None:
            # Every card of this round (in every admin chat) shows who answered it.
            await svc.run(
                actions.desk.add_card, order_id, chat.id, query.message.message_id, round_
            )
            await svc.run(actions.close_cards, result.order, closing)
    return _answer(lang, result, action)


def _answer(lang: str, result: PressResult, action: Action) -> Answer:
    verdict, order = result.outcome.verdict, result.order
    order_id = order.id if order else ""
    if verdict is Verdict.DONE:
        if result.note == "finished" and order is not None:
            state = texts.state_name(lang, order.state)
            return Answer(
                texts.plain(lang, "staff.toast.finished", id=order_id, state=state), alert=True
            )
        return Answer(texts.plain(lang, "staff.toast.done", action=action_name(lang, action)))
    if verdict is Verdict.ANSWERED:
        last = result.outcome.last
        if last is None:
            return Answer(texts.plain(lang, "callback.stale"), alert=True)
        return Answer(_answered(lang, last), alert=True)
    if verdict is Verdict.SUPERSEDED:
        return Answer(texts.plain(lang, "staff.toast.superseded", id=order_id), alert=True)
    if verdict is Verdict.FINISHED and order is not None:
        state = texts.state_name(lang, order.state)
        return Answer(
            texts.plain(lang, "staff.toast.finished", id=order_id, state=state), alert=True
        )
    return Answer(texts.plain(lang, "callback.stale"), alert=True)


def _answered(lang: str, last: Record) -> str:
    return texts.plain(
        lang,
        "staff.toast.answered",
        name=last.name,
        action=action_name(lang, last.action),
        at=texts.format_time(last.at),
    )


async def order_for_staff(
    update: Update, context: ContextTypes.DEFAULT_TYPE, raw_id: str, now: float
) -> str | None:
    """/estado P-… for staff: any chat's order, with every staff action; None for others."""
    order_id = normalize_order_id(raw_id)
    if order_id is None or not is_staff(update, context):
        return None
    lang = language_of(update)
    svc = services(context)
    desk = svc.staff_actions().desk
    try:
        order = await svc.run(svc.store.get, order_id)
    except KeyError:
        return None
    history = await svc.run(desk.history, order_id)
    lines = [
        texts.order_summary(order, now, lang),
        texts.text(lang, "staff.chat_line", chat=order.chat_id),
    ]
    if history:
        lines.append(texts.text(lang, "staff.history_title"))
        lines += [record_line(record, lang) for record in history]
    else:
        lines.append(texts.text(lang, "staff.history_empty"))
    return "\n".join(lines)
