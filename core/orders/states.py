"""The order state machine: its states and the moves it allows.

`TRANSITIONS` is the one declaration; `sources_of` turns it into what the store's conditional
update checks (core.orders.store), atomic whoever asks: a step, a cancel, a staff action.
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import CrossProcessError


class OrderState(StrEnum):
    """Every state an order can be in; the values are stored and shown in Flower."""

    # A /pedido text that matched no product: the staff price it (Cotizar), then it is paid
    # like any other order.
    POR_COTIZAR = "por_cotizar"
    # Imported by the staff (core.importer) for a customer who has not asked for it: nothing
    # runs and nothing is charged until that customer presses Confirmar (or Rechazar).
    POR_CONFIRMAR = "por_confirmar"
    # Sent its invoice, not yet paid: no chain runs until the payment is recorded.
    AWAITING_PAYMENT = "esperando_pago"
    PENDIENTE = "pendiente"
    VALIDANDO_PAGO = "validando_pago"
    PREPARANDO_ENVIO = "preparando_envio"
    # The human steps (STAFF_CHAT_ID set): preparar_envio posts the order's card in the staff
    # chat and the order waits here; each move is a staff member's button press, never a
    # sleeping task. Pickup orders go from listo straight to entregado.
    POR_ACEPTAR = "por_aceptar"
    ACEPTADO = "aceptado"
    EN_PREPARACION = "en_preparacion"
    LISTO = "listo"
    EN_REPARTO = "en_reparto"
    ENTREGADO = "entregado"
    NOTIFICANDO = "notificando"
    COMPLETADO = "completado"
    FALLIDO = "fallido"
    CANCELADO = "cancelado"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({OrderState.COMPLETADO, OrderState.FALLIDO, OrderState.CANCELADO})

# The states in which an order waits on its customer (an offer to confirm, an invoice to pay),
# not on the shop: the stale-order watcher leaves them alone (telling that customer "we are
# looking into it" would be wrong), and their own lapse ends them (OFFER_TTL, INVOICE_TTL).
CUSTOMER_STATES = frozenset({OrderState.POR_CONFIRMAR, OrderState.AWAITING_PAYMENT})

# The states people move an order through, in order (core.staff's order cards).
HUMAN_STATES: tuple[OrderState, ...] = (
    OrderState.POR_ACEPTAR,
    OrderState.ACEPTADO,
    OrderState.EN_PREPARACION,
    OrderState.LISTO,
    OrderState.EN_REPARTO,
    OrderState.ENTREGADO,
)

# The chain's steps in order; each one moves the order into its state when it starts.
STEPS: tuple[OrderState, ...] = (
    OrderState.VALIDANDO_PAGO,
    OrderState.PREPARANDO_ENVIO,
    OrderState.NOTIFICANDO,
)

TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.POR_COTIZAR: frozenset(
        {OrderState.AWAITING_PAYMENT, OrderState.PENDIENTE, OrderState.CANCELADO}
    ),
    # Confirmar: its invoice (esperando_pago) or its chain (pendiente); Rechazar: cancelado.
    OrderState.POR_CONFIRMAR: frozenset(
        {OrderState.AWAITING_PAYMENT, OrderState.PENDIENTE, OrderState.CANCELADO}
    ),
    # Paid: pendiente, and the chain starts; cancelled or its invoice expired: cancelado.
    OrderState.AWAITING_PAYMENT: frozenset(
        {OrderState.PENDIENTE, OrderState.FALLIDO, OrderState.CANCELADO}
    ),
    OrderState.PENDIENTE: frozenset(
        {OrderState.VALIDANDO_PAGO, OrderState.FALLIDO, OrderState.CANCELADO}
    ),
    OrderState.VALIDANDO_PAGO: frozenset(
        {OrderState.PREPARANDO_ENVIO, OrderState.FALLIDO, OrderState.CANCELADO}
    ),
    # Without staff (or for automatic products) the chain goes on to notificar_cliente.
    OrderState.PREPARANDO_ENVIO: frozenset(
        {
            OrderState.POR_ACEPTAR,
            OrderState.NOTIFICANDO,
            OrderState.FALLIDO,
            OrderState.CANCELADO,
        }
    ),
    # Rechazar cancels (and refunds) from any human state before the hand-over.
    OrderState.POR_ACEPTAR: frozenset({OrderState.ACEPTADO, OrderState.CANCELADO}),
    OrderState.ACEPTADO: frozenset({OrderState.EN_PREPARACION, OrderState.CANCELADO}),
    OrderState.EN_PREPARACION: frozenset({OrderState.LISTO, OrderState.CANCELADO}),
    OrderState.LISTO: frozenset(
        {OrderState.EN_REPARTO, OrderState.ENTREGADO, OrderState.CANCELADO}
    ),
    OrderState.EN_REPARTO: frozenset({OrderState.ENTREGADO, OrderState.CANCELADO}),
    # Handed over: notificar_cliente tells the customer and completes the order.
    OrderState.ENTREGADO: frozenset({OrderState.NOTIFICANDO, OrderState.COMPLETADO}),
    OrderState.NOTIFICANDO: frozenset(
        {OrderState.COMPLETADO, OrderState.FALLIDO, OrderState.CANCELADO}
    ),
    OrderState.COMPLETADO: frozenset(),
    OrderState.FALLIDO: frozenset(),
    OrderState.CANCELADO: frozenset(),
}


class InvalidTransition(CrossProcessError):
    """A change the state machine does not allow (e.g. completing a cancelled order)."""

    def __init__(self, current: OrderState, wanted: OrderState) -> None:
        super().__init__(f"{current} -> {wanted} is not allowed")
        self.current = current
        self.wanted = wanted


def step_number(state: OrderState) -> int:
    """How many steps have started when an order is in `state` (0 before the first)."""
    if state is OrderState.COMPLETADO:
        return len(STEPS)
    if state in HUMAN_STATES:
        # People work inside preparar_envio: the chain has started its second step.
        return STEPS.index(OrderState.PREPARANDO_ENVIO) + 1
    return STEPS.index(state) + 1 if state in STEPS else 0


def sources_of(wanted: OrderState) -> frozenset[OrderState]:
    """The states `wanted` may be reached from (what the store's conditional update checks)."""
    return frozenset(state for state, nexts in TRANSITIONS.items() if wanted in nexts)
