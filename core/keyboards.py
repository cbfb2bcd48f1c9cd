"""Inline keyboards as plain Bot API dicts, and the callback data their buttons carry.

Callback data is at most 64 bytes (Telegram refuses longer with BUTTON_DATA_INVALID):
  o:r:{order}:{mac}              refresh an order's status message ("Actualizar")
  o:c:{order}:{mac}              cancel the order ("Cancelar")
  g:{ok|edit|no}:{user}:{token}:{mac}  the guided order's Confirmar / Cambiar / Cancelar
  l:{page}:{user}:{mac}          a page of /pedidos
  s:{action}:{order}:{round}:{mac}  a staff card's button (core.staff.cards)
  m:… k:… q:…:{mac}              the shop's menu, cart and /pedido summary (core.cart.views)
  p:{ap|no}:{preview}:{mac}      a catalogue file's preview: Aplicar / Cancelar
  t:{order}:{mac}                a quote request's Cotizar (staff chat)
  f:{action}:{order}:{mac}       an order card's move in the staff chat (core.shopfloor)
  i:{ok|no}:{order}:{mac}        an imported order's Confirmar / Rechazar (core.importer.offers)

A modified client can send any callback data on any message it sees, so data is never
trusted as it comes. `mac` is an HMAC, keyed by a secret derived from the bot token, over the
chat and the rest of the data: data the bot did not make for this chat is refused before
anything is looked up. The handlers then check the press against what is stored: the data
must be on the pressed message's own keyboard (Telegram's copy, which no client can change),
the presser must be the owner (staff: an admin), and the message must be the order's status
message, the conversation's current one under its current step token, or a recorded card.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from core import texts
from core.orders.model import Order
from core.settings import get_settings

MAX_CALLBACK_BYTES = 64

ORDER = "o"
CONVERSATION = "g"
LIST = "l"
STAFF = "s"
# The shop (core.cart.views): each with three fields, action then two arguments ("-": none).
MENU = "m"  # m:home|cat|qty|add:{category index or sku}:{quantity}
CART = "k"  # k:show|inc|dec|clear|buy:{sku}:-
QUOTE = "q"  # q:ok|no:{draft}:-  a /pedido's priced summary
ERASE = "e"  # e:yes|no:{user}:-  /borrar_mis_datos's confirmation
CATALOGUE = "p"  # p:ap|no:{preview}  a catalogue file's preview: Aplicar / Cancelar
PRICE = "t"  # t:{order}  a quote request's Cotizar, in the staff chat (bot.handlers.cotizar)
SHOPFLOOR = "f"  # f:{action}:{order}  an order card's move (core.shopfloor.moves.Action)
IMPORTED = "i"  # i:ok|no:{order}  an imported order's offer to its customer (core.importer)

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


# 72 bits of HMAC-SHA256, base64url: forging one blindly takes ~2^71 presses.
MAC_CHARS = 12


@lru_cache(maxsize=4)
def _key(token: str) -> bytes:
    # A key of its own, derived from the token every process has already: nothing new to
    # configure, and a new token (after a leak) invalidates every old button.
    return hashlib.sha256(b"pedidos-bot callback data\0" + token.encode()).digest()


def _mac(chat_id: int, body: str) -> str:
    key = _key(get_settings().telegram_bot_token.get_secret_value())
    digest = hmac.new(key, f"{chat_id}\0{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:MAC_CHARS]


def sign(chat_id: int, body: str) -> str:
    """`body` with its MAC for `chat_id` appended: callback data only the bot can make."""
    return f"{body}:{_mac(chat_id, body)}"


def parse(data: str | None, chat_id: int) -> Pressed | None:
    """The parts of our callback data for this chat, or None for data we never made here."""
    if not data or len(data.encode()) > MAX_CALLBACK_BYTES:
        return None
    body, _, mac = data.rpartition(":")
    if not body or not hmac.compare_digest(mac.encode(), _mac(chat_id, body).encode()):
        return None
    kind, *fields = body.split(":")
    expected = {
        ORDER: 2,
        CONVERSATION: 3,
        LIST: 2,
        STAFF: 3,
        MENU: 3,
        CART: 3,
        QUOTE: 3,
        ERASE: 3,
        CATALOGUE: 2,
        PRICE: 1,
        SHOPFLOOR: 2,
        IMPORTED: 2,
    }.get(kind)
    if expected is None or len(fields) != expected or not all(fields):
        return None
    return Pressed(kind, tuple(fields))


def button(label: str, chat_id: int, body: str) -> dict[str, str]:
    """One inline button whose callback data is `body` signed for `chat_id` (within
    Telegram's 64 bytes)."""
    data = sign(chat_id, body)
    assert len(data.encode()) <= MAX_CALLBACK_BYTES, data
    return {"text": label, "callback_data": data}


_button = button


def status_keyboard(order: Order) -> Keyboard:
    """Actualizar always; Cancelar while the order has not finished."""
    lang = order.language
    chat = order.chat_id
    row = [button(texts.raw(lang, "buttons.refresh"), chat, f"{ORDER}:{REFRESH}:{order.id}")]
    if not order.is_final:
        row.append(button(texts.raw(lang, "buttons.cancel"), chat, f"{ORDER}:{CANCEL}:{order.id}"))
    return {"inline_keyboard": [row]}


def conversation_keyboard(
    language: str, chat_id: int, user_id: int, token: str, confirm: bool
) -> Keyboard:
    """Confirmar / Cambiar / Cancelar for a guided order (only Cancelar while it asks)."""
    prefix = f"{CONVERSATION}:{{}}:{user_id}:{token}"
    row = [button(texts.raw(language, "buttons.cancel"), chat_id, prefix.format(LEAVE))]
    if confirm:
        row = [
            button(texts.raw(language, "buttons.confirm"), chat_id, prefix.format(CONFIRM)),
            button(texts.raw(language, "buttons.change"), chat_id, prefix.format(CHANGE)),
            *row,
        ]
    return {"inline_keyboard": [row]}


def list_keyboard(
    language: str, chat_id: int, user_id: int, page: int, pages: int
) -> Keyboard | None:
    """◀ / ▶ between pages of /pedidos (pages numbered from 1); None for a single page.
    `user_id` 0: anyone in the chat may turn the pages (asked by an anonymous sender)."""
    row = []
    if page > 1:
        label = texts.raw(language, "buttons.previous")
        row.append(button(label, chat_id, f"{LIST}:{page - 1}:{user_id}"))
    if page < pages:
        label = texts.raw(language, "buttons.next")
        row.append(button(label, chat_id, f"{LIST}:{page + 1}:{user_id}"))
    return {"inline_keyboard": [row]} if row else None
