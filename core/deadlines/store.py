"""Breaches in the database: found by indexed queries, recorded once, their messages claimed
by conditional updates.

A breach row is unique per order and kind, so two watcher runs that find the same overdue
order record it once. Each message is claimed by `UPDATE … SET alerted_at = :now WHERE
alerted_at = 0` (escalated_at likewise): whichever run's update matched decided it, and
a concurrent run's matches nothing. Claimed messages are sent under one key each
(core.telegram's once-per-key sends); every run sends again what was claimed within the
last RESEND_WINDOW and is still true (the order still in the phase), so a run that died or was
retried between its claim and its send loses nothing, and what went out is not repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select, update

from core.db.deadlines import DeadlineBreachRow
from core.db.engine import Database, insert
from core.db.models import OrderEvent, OrderRow
from core.deadlines.rules import PHASE_OF, PHASES, Kind
from core.orders.states import OrderState

Breaches = DeadlineBreachRow


@dataclass(frozen=True)
class Breach:
    """A recorded breach: the order, which deadline, when it was due, what was claimed."""

    order_id: str
    kind: Kind
    due_at: float
    alerted_at: float
    escalated_at: float


def _in_phase() -> ColumnElement[bool]:
    """The order (joined) is still in the phase of the breach's kind."""
    return or_(
        *(
            and_(Breaches.kind == phase.kind.value, OrderRow.state.in_(_values(phase.states)))
            for phase in PHASES
        )
    )


def _values(states: Sequence[OrderState]) -> list[str]:
    return [state.value for state in states]


_OPEN = OrderRow.finished_at == 0


class BreachStore:
    """The deadline_breaches table and the questions the watcher asks of orders."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def overdue(self, kind: Kind, started_by: float, limit: int) -> list[tuple[str, float]]:
        """Open orders in `kind`'s phase that entered it at or before `started_by` and have no
        breach of that kind yet: (order id, phase start), oldest first."""
        phase = PHASE_OF[kind]
        recorded = exists().where(Breaches.order_id == OrderRow.id, Breaches.kind == kind.value)
        query = (
            select(OrderRow.id, OrderEvent.at)
            .join(OrderEvent, OrderEvent.order_id == OrderRow.id)
            .where(
                _OPEN,
                OrderRow.state.in_(_values(phase.states)),
                OrderEvent.to_state == phase.entry.value,
                OrderEvent.at <= started_by,
                ~recorded,
            )
            .order_by(OrderEvent.at)
            .limit(limit)
        )
        with self.db.reading() as session:
            return [(str(order_id), float(at)) for order_id, at in session.execute(query)]

    def record(self, kind: Kind, due: Sequence[tuple[str, float]]) -> None:
        """Record breaches (order id, due time) in one statement; one already recorded (by a
        concurrent run) stays as it is: INSERT … ON CONFLICT DO NOTHING on either engine."""
        if not due:
            return
        statement = insert(self.db.dialect, Breaches).on_conflict_do_nothing(
            index_elements=["order_id", "kind"]
        )
        rows = [
            {
                "order_id": order_id,
                "kind": kind.value,
                "due_at": due_at,
                "alerted_at": 0.0,
                "escalated_at": 0.0,
                "customer_told_at": 0.0,
            }
            for order_id, due_at in due
        ]
        with self.db.transaction() as session:
            session.execute(statement, rows)

    def claim_alerts(self, now: float, limit: int) -> int:
        """Claim the alert and the customer's message of the `limit` earliest-due unalerted
        breaches whose order is still in the phase; how many this call claimed."""
        candidates = (
            select(Breaches.id)
            .join(OrderRow, OrderRow.id == Breaches.order_id)
            .where(Breaches.alerted_at == 0, _OPEN, _in_phase())
            .order_by(Breaches.due_at)
            .limit(limit)
        )
        return self._claim(
            candidates, Breaches.alerted_at == 0, alerted_at=now, customer_told_at=now
        )

    def claim_escalations(self, alerted_by: float, now: float, limit: int) -> int:
        """Claim the escalation of the `limit` earliest breaches alerted at or before
        `alerted_by` whose order is still in the phase; how many this call claimed."""
        candidates = (
            select(Breaches.id)
            .join(OrderRow, OrderRow.id == Breaches.order_id)
            .where(
                Breaches.escalated_at == 0,
                Breaches.alerted_at > 0,
                Breaches.alerted_at <= alerted_by,
                _OPEN,
                _in_phase(),
            )
            .order_by(Breaches.alerted_at)
            .limit(limit)
        )
        return self._claim(candidates, Breaches.escalated_at == 0, escalated_at=now)

    def _claim(
        self, candidates: Select[int], unclaimed: ColumnElement[bool], **values: float
    ) -> int:
        with self.db.transaction() as session:
            ids = list(session.scalars(candidates))
            if not ids:
                return 0
            result = session.execute(
                update(Breaches)
                .where(Breaches.id.in_(ids), unclaimed)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    def claimed_since(self, since: float) -> tuple[list[Breach], list[Breach]]:
        """Breaches whose alert, and those whose escalation, was claimed at or after `since`
        and whose order is still in the phase: what a run (re)sends."""
        return self._claimed(Breaches.alerted_at >= since), self._claimed(
            Breaches.escalated_at >= since
        )

    def _claimed(self, condition: ColumnElement[bool]) -> list[Breach]:
        query = (
            select(Breaches)
            .join(OrderRow, OrderRow.id == Breaches.order_id)
            .where(condition, _OPEN, _in_phase())
            .order_by(Breaches.due_at)
        )
        with self.db.reading() as session:
            return [
                Breach(row.order_id, Kind(row.kind), row.due_at, row.alerted_at, row.escalated_at)
                for row in session.scalars(query)
            ]

    def of_order(self, order_id: str) -> list[Breach]:
        """Every breach of the order (for /estado and tests)."""
        query = select(Breaches).where(Breaches.order_id == order_id).order_by(Breaches.id)
        with self.db.reading() as session:
            return [
                Breach(row.order_id, Kind(row.kind), row.due_at, row.alerted_at, row.escalated_at)
                for row in session.scalars(query)
            ]
