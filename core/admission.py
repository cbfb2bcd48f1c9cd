"""Taking new work in whole, or not at all: when Redis refuses writes, and outside the shop's
opening hours (SHOP_HOURS: OUTSIDE_HOURS=take takes an order for the next opening and tells
the customer when; refuse stores nothing and says when the shop opens).

Redis runs with `maxmemory` and `noeviction`: when full it refuses writes ("OOM command not
allowed") rather than dropping queued tasks. A new order or photo job is then refused as a
whole: what was already written of it is removed (the order row too), so no order sits
`pendiente` without a chain and no index lists a job that never ran. Deletes are always
allowed, even when full.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import redis
from babel.dates import format_skeleton, format_time

from core.orders.model import Order
from core.orders.store import OrderStore
from core.recovery import starts
from core.shophours.clock import ShopClock

_OOM_TEXT = "OOM command not allowed"


def out_of_memory(exc: BaseException | None) -> bool:
    """Whether `exc` (or what caused it, e.g. inside kombu's wrappers) is Redis refusing a
    write for lack of memory."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, redis.exceptions.OutOfMemoryError) or _OOM_TEXT in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def discard_order(store: OrderStore, order: Order, source_message_id: int) -> None:
    """Remove an order whose chain never started (Redis was full, so nothing was queued): the
    order row goes (its id stays issued) and so does its pending start. Deletes are allowed
    even when Redis is full."""
    store.discard(order.id)
    pipe = store.starts.redis.pipeline(transaction=False) if store.starts else None
    if pipe is not None:
        starts.drop(pipe, "order", order.id)
        pipe.execute()


@dataclass(frozen=True)
class Closed:
    """The shop is closed as an order comes: when it opens, and whether the order is taken."""

    opens_at: float
    take: bool


def outside_hours(clock: ShopClock, policy: str, now: float) -> Closed | None:
    """None while the shop is open (always, without SHOP_HOURS); else when it opens next."""
    if clock.is_open(now):
        return None
    return Closed(clock.next_opening(now), take=policy != "refuse")


def opening_words(clock: ShopClock, opens_at: float, language: str) -> dict[str, str]:
    """The opening as the customer reads it, in the shop's zone and their language
    (`lun, 7 de diciembre` / `9:00`; `Mon, December 7` / `9:00 AM`)."""
    local = datetime.fromtimestamp(opens_at, clock.zone)
    return {
        "day": format_skeleton("MMMMEEEEd", local, locale=language),
        "time": format_time(local, "short", tzinfo=clock.zone, locale=language),
    }
