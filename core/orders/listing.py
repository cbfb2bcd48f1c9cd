"""`/pedidos`: a chat's orders, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from core import texts
from core.orders.model import Order
from core.orders.store import OrderStore

PER_PAGE = 5


@dataclass(frozen=True)
class Page:
    """One page of a chat's orders; `number` counts from 1."""

    orders: list[Order]
    number: int
    pages: int
    total: int


def pages_for(total: int, per_page: int = PER_PAGE) -> int:
    """How many pages `total` orders fill (at least one, even when empty)."""
    return max(1, -(-total // per_page))


def page_of(store: OrderStore, chat_id: int, number: int, per_page: int = PER_PAGE) -> Page:
    """Page `number` of the chat's orders, clamped to the pages there are."""
    total = store.count(chat_id)
    pages = pages_for(total, per_page)
    number = min(max(1, number), pages)
    orders = store.recent(chat_id, per_page, offset=(number - 1) * per_page)
    return Page(orders=orders, number=number, pages=pages, total=total)


def page_text(page: Page, now: float, language: str) -> str:
    """The list message: a title with the page, then one line per order (state and age)."""
    if page.total == 0:
        return texts.text(language, "list.empty")
    lines: list[str] = [
        texts.text(language, "list.title", total=page.total, page=page.number, pages=page.pages)
    ]
    lines += [texts.order_list_line(order, now, language) for order in page.orders]
    return "\n".join(lines)
