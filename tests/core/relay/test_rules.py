"""Who may write through an order, and which order a bot message is about."""

from __future__ import annotations

import pytest

from core.admins import ANONYMOUS_ADMIN_USER_ID, CHANNEL_BOT_USER_ID
from core.orders.model import Order
from core.relay.rules import customer_problem, is_staff_member, order_named_in

STAFF_CHAT = -1001234
EVA = 71


@pytest.mark.parametrize(
    ("chat", "user", "sender_chat", "staff_chat", "allowed"),
    [
        (STAFF_CHAT, EVA, None, STAFF_CHAT, True),
        (STAFF_CHAT, 72, None, STAFF_CHAT, False),  # a member who is not staff
        (-100999, EVA, None, STAFF_CHAT, False),  # staff, but in another group
        (EVA, EVA, None, STAFF_CHAT, False),  # staff, in private: not the staff chat
        (STAFF_CHAT, EVA, None, None, False),  # no staff chat: nobody
        (STAFF_CHAT, ANONYMOUS_ADMIN_USER_ID, STAFF_CHAT, STAFF_CHAT, False),
        (STAFF_CHAT, CHANNEL_BOT_USER_ID, -100777, STAFF_CHAT, False),
        (STAFF_CHAT, EVA, STAFF_CHAT, STAFF_CHAT, False),  # sent on behalf of the group
    ],
)
def test_only_a_listed_person_in_the_staff_chat_speaks_for_the_shop(
    chat: int, user: int, sender_chat: int | None, staff_chat: int | None, allowed: bool
) -> None:
    listed = {EVA, ANONYMOUS_ADMIN_USER_ID, CHANNEL_BOT_USER_ID}
    assert is_staff_member(chat, user, sender_chat, staff_chat, listed) is allowed


def test_only_the_orders_own_customer_may_write_about_it() -> None:
    order = Order(id="P-7K2Q4F", chat_id=-500, user_id=10, text="x")
    assert customer_problem(order, 10) is None
    # Another member of the same group, and an id nobody has: the same answer.
    assert customer_problem(order, 11) == "unknown"
    assert customer_problem(None, 10) == "unknown"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("🧮 Petición de presupuesto · pedido P-7K2Q4F\nCliente: Ana", "P-7K2Q4F"),
        ("Tu pedido P-7K2Q4F y otra vez P-7K2Q4F", "P-7K2Q4F"),
        ("P-7K2Q4F y P-ABCDEF", None),  # a digest: which one is unclear
        ("sin pedido", None),
        ("XP-7K2Q4F", None),
        ("P-7K2Q4FZ", None),
        ("P-0O1IL0", None),  # not our alphabet
    ],
)
def test_a_bot_message_names_one_order_or_none(text: str, found: str | None) -> None:
    assert order_named_in(text) == found
