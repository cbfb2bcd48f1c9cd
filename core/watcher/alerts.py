"""The chat alerts of a watcher run, handed over in one batch and sent apart from the run.

A run claims its orders (the mark committed first), composes their alerts and hands them all
to an `Outbox` at once (tasks.watcher: a few tasks on the telegram queue, each carrying up to
a hundred), instead of waiting on Telegram's pace for each. The sender (`deliver`) sends each
under its order's key, so a retried run, a retried or recovered batch, sends nothing twice;
and it leaves out an order that finished since the run read it (the step that finished it
tells the "ready" follow-up instead).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from sqlalchemy import select

from core import metrics
from core.db.engine import Database
from core.db.models import OrderRow
from core.telegram.client import BadRequest

log = logging.getLogger(__name__)

# An order's state read before its alert is trusted this long; later alerts read it again
# (Telegram's limits pace a long batch, and an order may finish meanwhile).
FRESH_READ = 0.5


@dataclass(frozen=True)
class StaleAlert:
    """One chat's alert for one stale order, in the JSON-safe shape a task carries."""

    order_id: str
    chat_id: int
    text: str

    @property
    def key(self) -> str:
        return f"order:{self.order_id}:stale"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StaleAlert:
        return cls(str(data["order_id"]), int(data["chat_id"]), str(data["text"]))


class Outbox(Protocol):
    """Where a run hands its alerts, all at once (tasks.watcher.CeleryOutbox)."""

    def hand_over(self, run_id: str, alerts: Sequence[StaleAlert]) -> None: ...


class Sender(Protocol):
    """core.telegram.courier.Courier: sends once per key."""

    def send(self, chat_id: int, text: str, *, key: str) -> int | None: ...


def unfinished_among(db: Database, order_ids: Sequence[str]) -> set[str]:
    """Which of these orders are still unfinished (one query)."""
    query = select(OrderRow.id).where(OrderRow.id.in_(list(order_ids)), OrderRow.finished_at == 0)
    with db.reading() as session:
        return set(session.scalars(query))


def deliver(db: Database, sender: Sender, alerts: Sequence[StaleAlert]) -> int:
    """Send each alert whose order is still unfinished, once per key; how many went out.

    A chat Telegram refuses for good (400) is logged and skipped: the others still get theirs.
    """
    sent = 0
    pending = list(alerts)
    while pending:
        # Read again once the last read is older than FRESH_READ: at least one alert per read.
        read_at = time.monotonic()
        stuck = unfinished_among(db, [alert.order_id for alert in pending])
        while pending:
            alert = pending.pop(0)
            if alert.order_id in stuck:
                sent += _send(sender, alert)
            if time.monotonic() - read_at > FRESH_READ:
                break
    metrics.watcher_alerts(sent)
    return sent


def _send(sender: Sender, alert: StaleAlert) -> int:
    try:
        sender.send(alert.chat_id, alert.text, key=alert.key)
    except BadRequest as exc:
        log.warning("watcher alert key=%s not sent to chat=%s: %s", alert.key, alert.chat_id, exc)
        return 0
    return 1
