"""How long orders stay in each staff (human) state: from the history row that entered the
state to the one that left it, for the period's orders."""

from __future__ import annotations

from dataclasses import dataclass

from core.db.engine import Database
from core.orders.states import HUMAN_STATES, OrderState
from core.reports.history import order_events
from core.reports.period import Period


@dataclass
class StateTime:
    """The finished stays in one state: how many, and their seconds added up."""

    stays: int = 0
    seconds: float = 0.0

    @property
    def average(self) -> float:
        return self.seconds / self.stays if self.stays else 0.0


def staff_times(db: Database, period: Period) -> dict[OrderState, StateTime]:
    """Each human state (in the workflow's order) with the stays that ended; an order still
    in a state counts only once it leaves it."""
    times = {state: StateTime() for state in HUMAN_STATES}
    human = {state.value for state in HUMAN_STATES}
    for _, events in order_events(db, period, human):
        entered: dict[str, float] = {}
        for event in events:
            if event.from_state in entered:
                stay = times[OrderState(event.from_state)]
                stay.stays += 1
                stay.seconds += max(0.0, event.at - entered.pop(event.from_state))
            if event.to_state in human:
                entered[event.to_state] = event.at
    return times
