"""The moves a card offers and a press made into one transition.

A press is one conditional update (core.orders.store): two people pressing at once make one
move, and the other is told who made it, from the order's history. The staff member is the
history row's actor (`staff:<user id>`), their name its note (with a rejection's reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.orders.model import Order
from core.orders.states import InvalidTransition, OrderState
from core.orders.store import OrderNotFound, OrderStore, staff


class Action(StrEnum):
    """A card button's action letter (the callback data's first field)."""

    ACCEPT = "a"
    PREPARE = "p"
    READY = "l"
    OUT = "e"
    DELIVERED = "d"
    REJECT = "r"  # shows the reasons
    BACK = "b"  # from the reasons back to the card's moves
    OPEN = "o"  # /cola, /buscar: post the card here again


MOVES: dict[Action, OrderState] = {
    Action.ACCEPT: OrderState.ACEPTADO,
    Action.PREPARE: OrderState.EN_PREPARACION,
    Action.READY: OrderState.LISTO,
    Action.OUT: OrderState.EN_REPARTO,
    Action.DELIVERED: OrderState.ENTREGADO,
}
ACTION_OF = {state: action for action, state in MOVES.items()}

# The customer's progress bar through the people's steps (the chain's own steps end at 33%
# and notificar_cliente takes it to 100%).
PROGRESS = {
    OrderState.POR_ACEPTAR: 40,
    OrderState.ACEPTADO: 50,
    OrderState.EN_PREPARACION: 60,
    OrderState.LISTO: 75,
    OrderState.EN_REPARTO: 85,
    OrderState.ENTREGADO: 90,
}

# Rejection reasons offered as buttons ("r0"…); the last is "another reason", said to the
# customer as a plain apology. Texts in core/locales (`floor.reason.*`).
REASONS = ("sold_out", "closed", "out_of_zone", "other")


def next_moves(order: Order, delivery: bool) -> list[Action]:
    """The card's buttons in `order`'s state: pickup orders go from listo to entregado."""
    state = order.state
    if state is OrderState.POR_ACEPTAR:
        return [Action.ACCEPT, Action.REJECT]
    if state is OrderState.ACEPTADO:
        return [Action.PREPARE, Action.REJECT]
    if state is OrderState.EN_PREPARACION:
        return [Action.READY, Action.REJECT]
    if state is OrderState.LISTO:
        return [Action.OUT if delivery else Action.DELIVERED, Action.REJECT]
    if state is OrderState.EN_REPARTO:
        return [Action.DELIVERED]
    return []


class Outcome(StrEnum):
    MOVED = "moved"  # this press made the move
    TAKEN = "taken"  # someone else made it first (or the order went elsewhere)
    GONE = "gone"  # no such order


@dataclass(frozen=True)
class Pressed:
    outcome: Outcome
    order: Order | None
    # Who made the move (or the last one) and when, for the loser's answer.
    by: str = ""
    at: float = 0.0


def press(
    store: OrderStore,
    order_id: str,
    wanted: OrderState,
    user_id: int,
    name: str,
    delivery: bool,
    reason: str = "",
) -> Pressed:
    """One press: the move to `wanted` if the order may make it now, else who got there."""
    try:
        order = store.get(order_id)
    except OrderNotFound:
        return Pressed(Outcome.GONE, None)
    offered = next_moves(order, delivery)
    action = Action.REJECT if wanted is OrderState.CANCELADO else ACTION_OF.get(wanted)
    allowed = action in offered
    if allowed:
        note = f"{name}: {reason}" if reason else name
        try:
            progress = {"progress": PROGRESS[wanted]} if wanted in PROGRESS else {}
            moved, after = store.advance(order_id, wanted, staff(user_id), note, **progress)
        except InvalidTransition:
            moved, after = False, store.get(order_id)
        if moved:
            return Pressed(Outcome.MOVED, after, name, after.updated_at)
        order = after
    return taken(store, order)


def taken(store: OrderStore, order: Order) -> Pressed:
    """The order's last move, for someone whose press came too late."""
    events = store.history(order.id)
    last = next((e for e in reversed(events) if e.to_state == order.state.value), None)
    if last is None:
        return Pressed(Outcome.TAKEN, order)
    who = last.note.split(": ", 1)[0] if last.actor.startswith("staff:") else last.actor
    return Pressed(Outcome.TAKEN, order, who or last.actor, last.at)
