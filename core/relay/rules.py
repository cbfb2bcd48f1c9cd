"""Who may write through an order, and which order a message is about: the rules the relay's
handlers apply, with no Telegram in them."""

from __future__ import annotations

import re
from collections.abc import Collection

from core.admins import is_person
from core.orders.model import ID_ALPHABET, ID_LENGTH, Order

# An order id as the bot writes it in its messages (P-7K2Q4F), anywhere in a text.
ORDER_REF = re.compile(rf"(?<![A-Z0-9-])P-[{ID_ALPHABET}]{{{ID_LENGTH}}}(?![A-Z0-9])")


def order_named_in(text: str) -> str | None:
    """The one order id a bot message names; None when it names none, or several (a digest:
    which order a reply to it is about cannot be told)."""
    found = set(ORDER_REF.findall(text))
    return found.pop() if len(found) == 1 else None


# The staff-chat messages a staff reply answers the customer through, besides the order's
# card: a customer's relayed message (💬) and a quote request card (🧮). A reply to anything
# else (a deadline alert, a stale-order card, a confirmation) is the staff talking among
# themselves, never sent to a customer.
CONVERSATION_MARKS = ("💬", "🧮")


def conversation_order(text: str) -> str | None:
    """The order a staff reply to this bot message is meant for: the one it names, if it is
    a customer's relayed message or a quote card."""
    return order_named_in(text) if text.startswith(CONVERSATION_MARKS) else None


def is_staff_member(
    chat_id: int,
    user_id: int | None,
    sender_chat_id: int | None,
    staff_chat_id: int | None,
    staff_user_ids: Collection[int],
) -> bool:
    """Whether a message may speak for the shop: a person (never an anonymous admin or a
    channel post, whose sender nobody can name in the order's history) listed as staff,
    writing in the staff chat."""
    if staff_chat_id is None or chat_id != staff_chat_id:
        return False
    return is_person(user_id, sender_chat_id) and user_id in staff_user_ids


def customer_problem(order: Order | None, user_id: int) -> str | None:
    """Why `user_id` may not write to the shop about `order` (None: they may): only the
    customer who placed it, about an order that exists. Unknown ids and other people's
    orders get the same answer, so ids cannot be probed."""
    if order is None or order.user_id != user_id:
        return "unknown"
    return None
