"""The buttons of staff cards (Atendido, Posponer, Reintentar, Cancelar y avisar), and what
/estado adds for staff: every action taken on the order."""

from __future__ import annotations

from dataclasses import replace

from telegram import Chat

from bot.context import BotContext, Incoming
from bot.handlers.presses import Answer, Press
from bot.handlers.staff_access import is_staff
from core import texts
from core.admins import personal_data_allowed
from core.orders.model import normalize_order_id
from core.staff.actions import Actor, PressResult
from core.staff.cards import action_name, record_line
from core.staff.desk import Action, Record, Verdict


async def on_button(press: Press, context: BotContext) -> Answer:
    """One press on a card: the first press of a round acts, any other is told who did."""
    lang = press.lang
    if not is_staff(press.update, context):
        return Answer(texts.plain(lang, "staff.toast.not_staff"), alert=True)
    raw_action, raw_id, raw_round = press.pressed.fields
    order_id = normalize_order_id(raw_id)
    try:
        action, round_ = Action(raw_action), int(raw_round)
    except ValueError:
        order_id = None
    if order_id is None:
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    chat_id = press.chat.id
    actor = Actor(press.user.id, press.user.full_name, chat_id)
    svc = context.services
    actions = svc.staff_actions()
    result = await svc.run(actions.press, order_id, round_, action, actor)
    verdict = result.outcome.verdict
    if verdict in (Verdict.DONE, Verdict.ANSWERED) and result.order is not None:
        closing = result.record if verdict is Verdict.DONE else result.outcome.last
        if closing is not None:
            # Every card of this round (in every admin chat) shows who answered it.
            await svc.run(
                actions.desk.add_card, order_id, chat_id, press.message.message_id, round_
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
    incoming: Incoming, context: BotContext, raw_id: str, now: float
) -> str | None:
    """/estado P-… for staff: any chat's order, with every staff action; None for others.
    What the customer wrote shows only in private or in the staff chat (core.admins)."""
    order_id = normalize_order_id(raw_id)
    if order_id is None or not is_staff(incoming.update, context):
        return None
    lang = incoming.lang
    svc = context.services
    desk = svc.staff_actions().desk
    try:
        order = await svc.run(svc.store.get, order_id)
    except KeyError:
        return None
    history = await svc.run(desk.history, order_id)
    chat = incoming.chat
    if not personal_data_allowed(chat.id, svc.settings.staff_chat_id, chat.type == Chat.PRIVATE):
        order = replace(order, text=texts.raw(lang, "privacy.hidden"))
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
