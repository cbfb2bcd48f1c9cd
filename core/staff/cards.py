"""What a staff card says and which buttons it carries.

Callback data (at most 64 bytes): `s:{action}:{order}:{round}`, e.g. `s:a:P-7K2Q4F:3`. The
round makes a press on an old card (replaced by a reminder) harmless.
"""

from __future__ import annotations

from core import texts
from core.admins import personal_data_allowed
from core.keyboards import STAFF, Keyboard, button
from core.orders.model import Order
from core.staff.desk import Action, Kind, Record
from core.watcher.watch import ADMIN_LANGUAGE, order_line

ACTION_KEYS = {
    Action.ACK: "ack",
    Action.SNOOZE: "snooze",
    Action.RETRY: "retry",
    Action.CANCEL: "cancel",
}


def shows_personal_data(chat_id: int, staff_chat_id: int | None) -> bool:
    """A card in the staff chat or an admin's private chat (a positive id) shows what the
    customer wrote; one in an admin group shows ids and states only."""
    return personal_data_allowed(chat_id, staff_chat_id, private=chat_id > 0)


def card_text(
    order: Order,
    kind: Kind,
    ignored: int,
    repeats: int,
    now: float,
    stale_after: float,
    personal: bool = False,
) -> str:
    """The card of one round: a heading by kind, then the watcher's line for the order (and
    what was ordered, where personal data may go)."""
    lang = ADMIN_LANGUAGE
    after = texts.format_age(stale_after, lang)
    if kind is Kind.ALERT:
        heading = texts.text(lang, "staff.alert_title", id=order.id, after=after)
    elif kind is Kind.REMINDER:
        heading = texts.text(lang, "staff.reminder_title", id=order.id, n=ignored, max=repeats)
    else:
        heading = texts.text(lang, "staff.escalation_title", id=order.id, n=ignored)
    return "\n".join([heading, order_line(order, now, lang), _what(order, personal)])


def _what(order: Order, personal: bool) -> str:
    if not personal:
        return str(texts.text(ADMIN_LANGUAGE, "privacy.hidden"))
    what = order.text if len(order.text) <= 80 else order.text[:79] + "…"
    return str(texts.text(ADMIN_LANGUAGE, "staff.what", what=what))


def card_keyboard(chat_id: int, order_id: str, round_: int, snooze_for: float) -> Keyboard:
    """Atendido / Posponer, then Reintentar / Cancelar y avisar (signed for `chat_id`)."""
    lang = ADMIN_LANGUAGE

    def data(action: Action) -> str:
        return f"{STAFF}:{action.value}:{order_id}:{round_}"

    snooze = texts.raw(lang, "staff.buttons.snooze").format(
        duration=texts.format_age(snooze_for, lang)
    )
    return {
        "inline_keyboard": [
            [
                button(texts.raw(lang, "staff.buttons.ack"), chat_id, data(Action.ACK)),
                button(snooze, chat_id, data(Action.SNOOZE)),
            ],
            [
                button(texts.raw(lang, "staff.buttons.retry"), chat_id, data(Action.RETRY)),
                button(texts.raw(lang, "staff.buttons.cancel"), chat_id, data(Action.CANCEL)),
            ],
        ]
    }


def action_name(language: str, action: str) -> str:
    return texts.raw(language, f"staff.action.{ACTION_KEYS[Action(action)]}")


def record_line(record: Record, language: str) -> str:
    """`✅ Atendido · Ana (id 42) · 2026-11-23 18:04 UTC`, plus what it came to."""
    line: str = texts.text(
        language,
        "staff.record_line",
        action=action_name(language, record.action),
        name=record.name,
        user=record.user_id,
        at=texts.format_time(record.at),
    )
    if record.outcome:
        line += " · " + texts.raw(language, f"staff.outcome.{record.outcome}")
    return str(line)


def closed_text(order: Order, record: Record, now: float, personal: bool = False) -> str:
    """A card once answered: the order as it is now and who answered; no buttons."""
    lang = ADMIN_LANGUAGE
    return "\n".join(
        [
            texts.text(lang, "staff.closed_title", id=order.id),
            order_line(order, now, lang),
            _what(order, personal),
            record_line(record, lang),
        ]
    )
