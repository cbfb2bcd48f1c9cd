"""What each step of an order does, as plain functions the Celery tasks call.

A step is safe to run twice: a finished or already-advanced order makes it a no-op, the
state change happens once (atomic in Redis), and the status edit is idempotent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from core import texts
from core.keyboards import status_keyboard
from core.orders.model import Order
from core.orders.payment import PaymentClient
from core.orders.states import STEPS, InvalidTransition, OrderState
from core.orders.store import OrderStore
from core.progress import percent_of
from core.telegram.client import BotApiError, TooManyRequests, TransientError
from core.telegram.courier import Courier
from core.watcher import watch as watcher

log = logging.getLogger(__name__)

ProgressReport = Callable[[int, int, int, str], None]


@dataclass
class Fulfilment:
    """Everything a step needs, built once per worker process."""

    store: OrderStore
    courier: Courier
    payment: PaymentClient
    step_seconds: float
    sleep: Callable[[float], None] = time.sleep
    # With staff (core.shopfloor): takes an order from preparar_envio into the human steps
    # (True), or leaves it to the timed chain (False: no staff, or only automatic products).
    hand_over: Callable[[str], bool] | None = None

    def start_step(self, order_id: str, state: OrderState, report: ProgressReport) -> Order | None:
        """Move the order into step `state` and show it; None when the step has nothing to do.

        The state machine decides in the same round trip: an order already past this step,
        finished or cancelled refuses the move, and the step is skipped; an order already in
        this step (a re-run) is shown again, which changes nothing the chat sees.
        """
        number = STEPS.index(state) + 1
        percent = percent_of(number - 1, len(STEPS))
        try:
            _, order = self.store.advance(order_id, state, step=number, progress=percent)
        except InvalidTransition as exc:
            log.info("order=%s step=%s skipped: %s", order_id, state, exc)
            return None
        report(number, len(STEPS), percent, state.value)
        if order.state is not state:
            # Cancelled right after the move: the cancellation shows itself.
            return None
        self.show_status(order, best_effort=True)
        return order

    def carry_on(self, order_id: str, state: OrderState) -> bool:
        """The check after a step's work: False (and the status shown) if it was cancelled."""
        now = self.store.state_of(order_id)  # the state alone: the order is read if it moved
        if now is state:
            return True
        log.info("order=%s step=%s stops: order is %s", order_id, state, now)
        if now is OrderState.CANCELADO:
            # This step's own progress edit may have landed after the cancellation's.
            self.show_status(self.store.get(order_id), best_effort=True)
        return False

    def show_status(self, order: Order, best_effort: bool = False) -> None:
        """Edit the order's status message to its current state.

        Progress is best effort: when Telegram is down or busy, the step goes on and a later
        edit shows the newer state (only the latest text of a status message matters). An
        edit Telegram refuses for good (any 400 or 403) never fails an order: the order is
        what the customer paid for, the status message only shows it. Without `best_effort`
        only waits and outages propagate, for the task to retry.
        """
        try:
            if order.status_message_id:
                shown = self.courier.edit(
                    order.chat_id,
                    order.status_message_id,
                    texts.status_message(order),
                    # Telegram drops the keyboard of an edit that does not repeat it.
                    reply_markup=status_keyboard(order),
                    key=f"order:{order.id}:status:{order.state.value}",
                    final=order.state.is_final,
                )
            else:
                # The bot could not send its reply (Telegram down at that moment), or the
                # group was upgraded (core.chats): the worker, which retries, sends the status
                # message instead, once per chat.
                shown = self.courier.send(
                    order.chat_id,
                    texts.status_message(order),
                    key=f"order:{order.id}:status:{order.chat_id}",
                    reply_markup=status_keyboard(order),
                )
        except (TransientError, TooManyRequests) as exc:
            if not best_effort:
                raise
            log.info("order=%s progress edit skipped: %s", order.id, exc)
            return
        except BotApiError as exc:
            log.warning("order=%s status message not updated, refused: %s", order.id, exc)
            return
        if shown and shown != order.status_message_id:
            self.store.set_fields(order.id, status_message_id=shown)

    def simulate_work(self) -> None:
        """Stand-in for the real work of a step (`STEP_SECONDS`, 0 in tests)."""
        if self.step_seconds > 0:
            self.sleep(self.step_seconds)

    def validar_pago(self, order_id: str, report: ProgressReport) -> None:
        order = self.start_step(order_id, OrderState.VALIDANDO_PAGO, report)
        if order is None:
            return
        self.payment.authorize(order)
        self.simulate_work()
        self.carry_on(order_id, OrderState.VALIDANDO_PAGO)

    def preparar_envio(self, order_id: str, report: ProgressReport) -> bool:
        """True when people took the order over (the chain stops: they move it on)."""
        started = self.start_step(order_id, OrderState.PREPARANDO_ENVIO, report)
        # Asked on a re-run too: an order already waiting for people gets its card once.
        if self.hand_over is not None and self.hand_over(order_id):
            return True
        if started is not None:
            self.simulate_work()
            self.carry_on(order_id, OrderState.PREPARANDO_ENVIO)
        return False

    def notificar_cliente(self, order_id: str, report: ProgressReport) -> None:
        """Last step: complete the order, show it done and tell the customer once."""
        if self.start_step(order_id, OrderState.NOTIFICANDO, report) is not None:
            self.simulate_work()
        try:
            # Completing a completed order is a no-op that returns it: a re-run resends
            # nothing (the messages below are keyed) but still finishes what it started.
            _, order = self.store.advance(order_id, OrderState.COMPLETADO, progress=100)
        except InvalidTransition:
            # Cancelled meanwhile: the cancellation, not this step, tells the chat.
            order = self.store.get(order_id)
        if order.state is not OrderState.COMPLETADO:
            self.carry_on(order_id, OrderState.COMPLETADO)
            return
        # No PROGRESS report here: the task's SUCCESS, stored a moment later, says it.
        self.show_status(order)
        self.courier.send(
            order.chat_id,
            texts.text(order.language, "order.completed", id=order.id),
            key=f"order:{order.id}:completed",
        )
        if watcher.was_alerted(order):
            watcher.tell_ready(self.courier, order)

    def fail(self, order_id: str, reason_code: str) -> bool:
        """Mark the order failed with a reason; False if it had already ended."""
        try:
            return self.store.move(order_id, OrderState.FALLIDO, error=reason_code)
        except InvalidTransition:
            return False

    def tell_failure(self, order_id: str) -> None:
        """Show the failure in the status message and tell the customer, once."""
        order = self.store.get(order_id)
        if order.state is not OrderState.FALLIDO:
            return
        self.show_status(order)
        reason = texts.failure_reason(order.language, order.error)
        self.courier.send(
            order.chat_id,
            texts.text(order.language, "order.failed", id=order.id, reason=reason),
            key=f"order:{order.id}:failed",
        )
