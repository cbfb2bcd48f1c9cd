"""Inline keyboards as plain Bot API dicts, and the callback data their buttons carry.

Callback data is at most 64 bytes (Telegram refuses longer with BUTTON_DATA_INVALID):
  o:r:{order}              refresh an order's status message ("Actualizar")
  o:c:{order}              cancel the order ("Cancelar")
  g:{ok|edit|no}:{user}:{token}  the guided order's Confirmar / Cambiar / Cancelar
  l:{page}:{user}          a page of /pedidos
  s:{action}:{order}:{round}  a staff card's button (core.staff.cards)
Who may press a button is checked by its handler: the order's customer, or the user in the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import texts
from core.orders import Order

MAX_CALLBACK_BYTES = 64

ORDER = "o"
CONVERSATION = "g"
LIST = "l"
STAFF = "s"

REFRESH = "r"
CANCEL = "c"

CONFIRM = "ok"
CHANGE = "edit"
LEAVE = "no"

Keyboard = dict[str, Any]


@dataclass(frozen=True)
class Pressed:
    """A button's callback data taken apart: kind (o/g/l), then its fields."""

    kind: str
    fields: tuple[str, ...]


def parse(data: str | None) -> Pressed | None:
    """The parts of our callback data, or None for data we never sent."""
    if not data or len(data.encode()) > MAX_CALLBACK_BYTES:
        return None
    kind, *fields = data.split(":")
    expected = {ORDER: 2, CONVERSATION: 3, LIST: 2, STAFF: 3}.get(kind)
    if expected is None or len(fields) != expected or not all(fields):
        return None
    return Pressed(kind, tuple(fields))


def button(label: str, data: str) -> dict[str, str]:
    """One inline button with callback data (checked against Telegram's 64 bytes)."""
    assert len(data.encode()) <= MAX_CALLBACK_BYTES, data
    return {"text": label, "callback_data": data}


_button = button


def status_keyboard(order: Order) -> Keyboard:
    """Actualizar always; Cancelar while the order has not finished."""
    lang = order.language
    row = [_button(texts.raw(lang, "buttons.refresh"), f"{ORDER}:{REFRESH}:{order.id}")]
    if not order.is_final:
        row.append(_button(texts.raw(lang, "buttons.cancel"), f"{ORDER}:{CANCEL}:{order.id}"))
    return {"inline_keyboard": [row]}


def conversation_keyboard(language: str, user_id: int, token: str, confirm: bool) -> Keyboard:
    """Confirmar / Cambiar / Cancelar for a guided order (only Cancelar while it asks)."""
    prefix = f"{CONVERSATION}:{{}}:{user_id}:{token}"
    row = [_button(texts.raw(language, "buttons.cancel"), prefix.format(LEAVE))]
    if confirm:
        row = [
            _button(texts.raw(language, "buttons.confirm"), prefix.format(CONFIRM)),
            _button(texts.raw(language, "buttons.change"), prefix.format(CHANGE)),
            *row,
        ]
    return {"inline_keyboard": [row]}


def list_keyboard(language: str, user_id: int, page: int, pages: int) -> Keyboard | None:
    """◀ / ▶ between pages of /pedidos (pages numbered from 1); None for a single page."""
    row = []
    if page > 1:
        row.append(_button(texts.raw(language, "buttons.previous"), f"{LIST}:{page - 1}:{user_id}"))
    if page < pages:
        row.append(_button(texts.raw(language, "buttons.next"), f"{LIST}:{page + 1}:{user_id}"))
    return {"inline_keyboard": [row]} if row else None
