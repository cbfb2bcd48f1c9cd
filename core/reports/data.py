"""Reading the orders of a period once, as a stream: the CSV rows, counts per day and state,
and the times to complete."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from core import csvsafe
from core.orders.model import Order
from core.orders.states import OrderState
from core.orders.store import OrderStore
from core.reports.period import Period

CSV_COLUMNS = (
    "id",
    "chat_id",
    "user_id",
    "state",
    "created_at",
    "finished_at",
    "seconds_to_finish",
    "text",
    "error",
)


@dataclass
class Tally:
    """What a period's orders add up to."""

    total: int = 0
    per_day: dict[date, Counter[OrderState]] = field(default_factory=dict)
    by_state: Counter[OrderState] = field(default_factory=Counter)
    # Seconds from creation to completion of each completed order.
    to_complete: list[float] = field(default_factory=list)

    def add(self, order: Order, day: date) -> None:
        self.total += 1
        self.per_day.setdefault(day, Counter())[order.state] += 1
        self.by_state[order.state] += 1
        if order.state is OrderState.COMPLETADO and order.finished_at:
            self.to_complete.append(order.finished_at - order.created_at)


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (`share` in 0..1) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def _iso(timestamp: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(timestamp, tz).isoformat(timespec="seconds") if timestamp else ""


def collect(
    store: OrderStore, period: Period, csv_path: Path | None = None, texts_too: bool = False
) -> Tally:
    """Tally the period's orders; with `csv_path`, also write one CSV row per order (its
    `text` left empty unless `texts_too`: what customers wrote is personal data)."""
    start, end = period.bounds()
    tz = ZoneInfo(period.zone)
    tally = Tally()
    out = csv_path.open("w", newline="", encoding=csvsafe.ENCODING) if csv_path else None
    try:
        writer = csvsafe.writer(out) if out else None
        if writer:
            writer.writerow(CSV_COLUMNS)
        for batch in store.created_between(start, end):
            for order in batch:
                tally.add(order, period.day_of(order.created_at))
                if writer:
                    finished = order.finished_at - order.created_at if order.finished_at else ""
                    writer.writerow(
                        [
                            order.id,
                            order.chat_id,
                            order.user_id,
                            order.state.value,
                            _iso(order.created_at, tz),
                            _iso(order.finished_at, tz),
                            f"{finished:.1f}" if finished != "" else "",
                            order.text if texts_too else "",
                            order.error,
                        ]
                    )
    finally:
        if out:
            out.close()
    return tally
