"""Where an order's card is in the staff chat: what the order cards provide, wired here once.

The relay reads the cards through two small functions, so it runs with or without them:
`card_message(order_id)` gives the card's (chat id, message id) or None, and
`order_of_card(chat_id, message_id)` the order a card message shows or None. Until
`wire` is called both answer None: a customer's message is then posted in the staff chat
naming its order, and a staff reply is matched by the order id in the replied-to message."""

from __future__ import annotations

from collections.abc import Callable

CardMessage = Callable[[str], "tuple[int, int] | None"]
OrderOfCard = Callable[[int, int], "str | None"]


def _no_card(order_id: str) -> tuple[int, int] | None:
    return None


def _no_order(chat_id: int, message_id: int) -> str | None:
    return None


card_message: CardMessage = _no_card
order_of_card: OrderOfCard = _no_order


def wire(cards: CardMessage, orders: OrderOfCard) -> None:
    """Use the order cards (called once at start, by the bot and the workers)."""
    global card_message, order_of_card
    card_message, order_of_card = cards, orders
