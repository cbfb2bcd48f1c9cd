"""Deadline breaches: how many of a period's orders missed each staff deadline.

For now measured from the orders' history: each deadline runs from the order reaching the
staff (`por_aceptar`) and is missed when the order had not reached its state by then (nor been
cancelled or failed first). ACCEPT_WITHIN, READY_WITHIN and DELIVER_WITHIN are read when the
settings declare them (the staff workflow's deadlines), else their defaults.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from core.db.engine import Database
from core.orders.states import OrderState
from core.reports.history import Event, order_events
from core.reports.period import Period
from core.settings import Settings, get_settings

# The state each deadline waits for, its setting and its default (seconds).
DEADLINES: dict[OrderState, tuple[str, float]] = {
    OrderState.ACEPTADO: ("accept_within", 10 * 60.0),
    OrderState.LISTO: ("ready_within", 45 * 60.0),
    OrderState.ENTREGADO: ("deliver_within", 90 * 60.0),
}
START = OrderState.POR_ACEPTAR
ENDS = (OrderState.CANCELADO.value, OrderState.FALLIDO.value)


def limits(settings: Settings) -> dict[OrderState, float]:
    """Each deadline's seconds: its setting when the settings have it, else the default."""
    return {
        state: float(getattr(settings, name, default))
        for state, (name, default) in DEADLINES.items()
    }


def breaches(
    db: Database,
    period: Period,
    within: Mapping[OrderState, float] | None = None,
    now: float | None = None,
) -> dict[OrderState, int]:
    """Per deadline (keyed by the state it waits for), the orders created in the period
    that missed it; a deadline still running at `now` is not missed yet."""
    within = limits(get_settings()) if within is None else within
    now = time.time() if now is None else now
    counts = dict.fromkeys(DEADLINES, 0)
    watched = {START.value, *ENDS, *(state.value for state in DEADLINES)}
    for _, events in order_events(db, period, watched):
        for state, missed in _missed(events, within, now).items():
            counts[state] += missed
    return counts


def _missed(
    events: list[Event], within: Mapping[OrderState, float], now: float
) -> dict[OrderState, int]:
    reached: dict[str, float] = {}
    for event in events:
        reached.setdefault(event.to_state, event.at)
    started = reached.get(START.value)
    if started is None:
        return {}
    ended = min((reached[end] for end in ENDS if end in reached), default=None)
    found: dict[OrderState, int] = {}
    for state, seconds in within.items():
        deadline = started + seconds
        arrived = reached.get(state.value)
        done_in_time = arrived is not None and arrived <= deadline
        gone_first = ended is not None and ended <= deadline
        found[state] = int(deadline <= now and not done_in_time and not gone_first)
    return found
