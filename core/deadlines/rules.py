"""Which phase of an order has which deadline, and when it falls due.

A phase starts when the order enters its first state (its history row's time) and lasts
while the order is in any of its states: accept (por aceptar), ready (from aceptado until
listo), deliver (from listo until entregado). Due times count only opening hours
(core.shophours), so an order taken at night is due a deadline after the opening.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.orders.states import OrderState
from core.shophours.clock import ShopClock


class Kind(StrEnum):
    """A deadline; the values are stored (deadline_breaches.kind) and name message keys."""

    ACCEPT = "accept"
    READY = "ready"
    DELIVER = "deliver"


@dataclass(frozen=True)
class Phase:
    """The states an order is in while a deadline runs; `entry` starts it."""

    kind: Kind
    entry: OrderState
    states: tuple[OrderState, ...]


PHASES: tuple[Phase, ...] = (
    Phase(Kind.ACCEPT, OrderState.POR_ACEPTAR, (OrderState.POR_ACEPTAR,)),
    Phase(Kind.READY, OrderState.ACEPTADO, (OrderState.ACEPTADO, OrderState.EN_PREPARACION)),
    Phase(Kind.DELIVER, OrderState.LISTO, (OrderState.LISTO, OrderState.EN_REPARTO)),
)
PHASE_OF = {phase.kind: phase for phase in PHASES}


@dataclass(frozen=True)
class Deadlines:
    """How long each phase may take (seconds of open time), and the shop's hours."""

    clock: ShopClock
    accept: float
    ready: float
    deliver: float
    # A breach still open this long (open time) after the staff were alerted goes to the
    # admins: the staff had that long to act, even when the alert came late (beat was down).
    escalate_after: float

    def within(self, kind: Kind) -> float:
        return {Kind.ACCEPT: self.accept, Kind.READY: self.ready, Kind.DELIVER: self.deliver}[kind]

    def due_at(self, kind: Kind, started_at: float) -> float:
        """When a phase started at `started_at` falls due."""
        return self.clock.add(started_at, self.within(kind))

    def started_by(self, kind: Kind, now: float) -> float:
        """The latest phase start that is overdue at `now` (a start at or before it is)."""
        return self.clock.rewind(now, self.within(kind))

    def escalate_alerted_by(self, now: float) -> float:
        """The latest alert time whose breach is to be escalated at `now`."""
        return self.clock.rewind(now, self.escalate_after)
