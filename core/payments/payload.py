"""An invoice's payload: a reference to its order that only the bot can make.

`p1:{order id}:{MAC}`, 34 bytes, well under Telegram's 128, and nothing personal in it. The
MAC covers the order id and the user the invoice was sent to, so a payload replayed by anyone
else, or edited to name another order, does not verify. Its key is derived from the bot token
as the buttons' is (core.keyboards), under another label: a new token voids old invoices.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from core.orders.model import ORDER_ID
from core.settings import get_settings

VERSION = "p1"
# 128 bits of HMAC-SHA256, base64url.
MAC_CHARS = 22


@lru_cache(maxsize=4)
def _key(token: str) -> bytes:
    return hashlib.sha256(b"pedidos-bot invoice payload\0" + token.encode()).digest()


def _mac(order_id: str, user_id: int) -> str:
    key = _key(get_settings().telegram_bot_token.get_secret_value())
    digest = hmac.new(key, f"{order_id}\0{user_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:MAC_CHARS]


def make_payload(order_id: str, user_id: int) -> str:
    return f"{VERSION}:{order_id}:{_mac(order_id, user_id)}"


def order_of(payload: str, user_id: int) -> str | None:
    """The order id a payload names, when the bot made it for `user_id`; else None."""
    version, _, rest = payload.partition(":")
    order_id, _, mac = rest.rpartition(":")
    if version != VERSION or not ORDER_ID.match(order_id):
        return None
    if not hmac.compare_digest(mac.encode(), _mac(order_id, user_id).encode()):
        return None
    return order_id
