"""The order store: orders in the system of record (core.db), changed only by conditional
updates that write their history row in the same transaction.

A change of state is `UPDATE orders … WHERE id = :id AND state IN (:allowed)`: two workers or
two bot replicas asking for the same move make it once; the other sees it already made (an
idempotent re-run) or refused by the state machine. What Redis still holds for an order is
rebuildable: its pending start (core.recovery.starts), leases, dedupe guards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import metrics
from core.db.engine import Database
from core.db.models import Customer, OrderEvent, OrderRow
from core.db.payments import PaymentRow
from core.orders.lines import release_stock
from core.orders.model import Order, new_order_id
from core.orders.queries import OrderNotFound, OrderQueries
from core.orders.rows import (
    SYSTEM,
    Placement,
    add_change,
    customer,
    fields_statement,
    insert_order,
    remember_customer,
    staff,
    telegram_source,
    to_order,
    transition_statement,
)
from core.orders.states import InvalidTransition, OrderState, step_number
from core.recovery.starts import PendingStarts

__all__ = ["SYSTEM", "OrderNotFound", "OrderStore", "Placement", "customer", "staff"]

PREFIX = "pedidos:"
# How long a Telegram update is remembered for re-delivery: Telegram keeps undelivered
# updates for 24 hours, so a re-delivered one cannot be older than that.
UPDATE_MEMORY_SECONDS = 48 * 3600
# The latest error of a retried step (Order.extra), shown in the admins' digest.
LAST_ERROR_FIELD = "last_error"
# The metrics event of each final state (core.metrics.order_event).
FINAL_EVENTS = {
    OrderState.COMPLETADO: "completed",
    OrderState.CANCELADO: "cancelled",
    OrderState.FALLIDO: "failed",
}
# What an order made under a guard (an imported row) keeps of it (Order.extra).
GUARD_FIELD = "guard"
# New ids drawn when a random id is already issued (one in ~10^9 at a million orders).
ID_ATTEMPTS = 5

ORDERS = cast(Table, OrderRow.__table__)
# Columns a caller may set with set_fields / advance (anything else goes to `extra`).
_COLUMNS = frozenset(
    {
        "step",
        "progress",
        "status_message_id",
        "task_id",
        "task_ids",
        "queued_epoch",
        "error",
        "language",
        "text",
    }
)


def _split(fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    columns = {k: v for k, v in fields.items() if k in _COLUMNS}
    extra = {k: str(v) for k, v in fields.items() if k not in _COLUMNS}
    return columns, extra


class OrderStore(OrderQueries):
    """Orders in the database; `starts` (Redis) hears of each new order to queue."""

    def __init__(
        self,
        db: Database,
        starts: PendingStarts | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.starts = starts
        self.clock = clock

    # -- creating ---------------------------------------------------------------------------

    def create(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        source_message_id: int,
        language: str = "es",
        *,
        placed: Placement | None = None,
    ) -> tuple[Order, bool]:
        """Store a new order; a re-delivered message returns its first order and False.

        `placed`: an order the staff place for the customer (core.importer), with its own
        source, author, first state and payment method, instead of the customer's message."""
        how = placed or Placement(telegram_source(chat_id, source_message_id), customer(user_id))
        source = how.source
        for _attempt in range(ID_ATTEMPTS):
            order = how.apply(self.new(chat_id, user_id, text, language))
            try:
                with self.db.transaction() as session:
                    insert_order(session, order, source, actor=how.actor)
                    remember_customer(session, order)
                break
            except IntegrityError:
                # A re-delivered update (or another replica placing the same message): its
                # source is taken, and the first order is the answer; else a random id was
                # already issued, and another is drawn.
                existing = self.by_source(source)
                if existing is not None:
                    return existing, False
        else:
            raise RuntimeError(f"no order stored for {source} after {ID_ATTEMPTS} attempts")
        if self.starts is not None and order.state is OrderState.PENDIENTE:
            try:
                self.starts.add("order", order.id)
            except Exception:
                # Redis refused (full, or unreachable): nothing can queue the order, so it is
                # taken back whole and the caller tells the customer to try again.
                self.discard(order.id)
                raise
        metrics.order_event("created")
        return order, True

    def new(self, chat_id: int, user_id: int, text: str, language: str) -> Order:
        now = self.clock()
        return Order(
            id=new_order_id(),
            chat_id=chat_id,
            user_id=user_id,
            text=text,
            created_at=now,
            updated_at=now,
            language=language,
        )

    def by_source(self, source: str) -> Order | None:
        with self.db.reading() as session:
            row = session.scalar(select(OrderRow).where(OrderRow.source == source))
            return to_order(row) if row else None

    def discard(self, order_id: str) -> None:
        """Remove an order that never started (nothing queued, nobody told it exists); its id
        stays issued."""
        with self.db.transaction() as session:
            row = session.get(OrderRow, order_id)
            if row is not None and row.state == OrderState.PENDIENTE.value and not row.task_id:
                release_stock(session, order_id)
                session.delete(row)

    # -- changing ---------------------------------------------------------------------------

    def move(self, order_id: str, wanted: OrderState, **fields: str | int | float) -> bool:
        """Move an order to `wanted`; False if it was already there (idempotent re-run).

        Raises InvalidTransition when the state machine forbids it and OrderNotFound when
        the order does not exist.
        """
        moved, _ = self.advance(order_id, wanted, SYSTEM, "", **fields)
        return moved

    def advance(
        self,
        order_id: str,
        wanted: OrderState,
        actor: str = SYSTEM,
        note: str = "",
        **fields: str | int | float,
    ) -> tuple[bool, Order]:
        """Like `move`, also returning the order as it is after the change."""
        # A failed or cancelled order keeps the step it stopped at.
        if wanted not in (OrderState.FALLIDO, OrderState.CANCELADO) and "step" not in fields:
            fields["step"] = step_number(wanted)
        with self.db.transaction() as session:
            changed = self.changed_row(session, order_id, wanted, actor, note, **fields)
            if changed is not None:
                return True, changed
            # Not moved: already there (a step run twice), or refused.
            row = session.execute(select(ORDERS).where(ORDERS.c.id == order_id)).first()
            if row is None:
                raise OrderNotFound(order_id)
            if row.state != wanted.value:
                raise InvalidTransition(OrderState(row.state), wanted)
            return False, to_order(row)

    def transition(
        self,
        session: Session,
        order_id: str,
        wanted: OrderState,
        actor: str,
        note: str = "",
        **fields: str | int | float,
    ) -> bool:
        """In `session`: the conditional update and its history row; True when it moved."""
        return self.changed_row(session, order_id, wanted, actor, note, **fields) is not None

    def changed_row(
        self,
        session: Session,
        order_id: str,
        wanted: OrderState,
        actor: str,
        note: str = "",
        **fields: str | int | float,
    ) -> Order | None:
        """`transition`, with the order as it is after the change (None: not moved). The
        update returns the row (no second read), in SQLAlchemy Core: the order path's hot
        spot, so no ORM object is built for it."""
        now = self.clock()
        columns, extra = _split(fields)
        session.flush()  # what the ORM holds of this transaction first (Core skips autoflush)
        found = (
            session.connection()
            .execute(
                transition_statement(wanted, tuple(sorted(columns))),
                {"order_id": order_id, "now": now, **columns},
            )
            .first()
        )
        if found is None:
            return None
        order = to_order(found)
        if wanted in (OrderState.CANCELADO, OrderState.FALLIDO):
            release_stock(session, order_id)
        if wanted in FINAL_EVENTS:
            metrics.order_event(FINAL_EVENTS[wanted])
        if extra:
            merged = {**(found.extra or {}), **extra}
            self._merge_extra(session, order_id, merged)
            order.extra = {str(k): str(v) for k, v in merged.items()}
        add_change(session, order_id, now, wanted, actor, note, (found.last_state, found.last_at))
        return order

    @staticmethod
    def _merge_extra(session: Session, order_id: str, extra: dict[str, Any]) -> None:
        session.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id)
            .values(extra=extra)
            .execution_options(synchronize_session=False)
        )

    def set_fields(self, order_id: str, **fields: str | int | float) -> None:
        """Record bookkeeping fields (status message id, task id) whatever the state."""
        columns, extra = _split(fields)
        if not extra:
            # The common case (a status message id, a chain's task ids): one UPDATE.
            with self.db.transaction() as session:
                session.connection().execute(
                    fields_statement(tuple(sorted(columns))), {"order_id": order_id, **columns}
                )
            return
        with self.db.transaction() as session:
            row = session.get(OrderRow, order_id)
            if row is None:
                return
            for name, value in columns.items():
                setattr(row, name, value)
            if extra:
                row.extra = {**(row.extra or {}), **extra}

    def set_task_ids(self, plans: Sequence[tuple[str, list[str]]], epoch: str) -> None:
        """Record each order's chain task ids (its first one as `task_id`) and the Redis epoch
        they are queued in, in one transaction."""
        with self.db.transaction() as session:
            for order_id, ids in plans:
                session.execute(
                    update(OrderRow)
                    .where(OrderRow.id == order_id)
                    .values(task_ids=",".join(ids), task_id=ids[0], queued_epoch=epoch)
                    .execution_options(synchronize_session=False)
                )

    def move_chat(self, old: int, new: int) -> int:
        """A group became a supergroup: its orders follow it. Their status messages stay in the
        old chat (message ids are per chat), so each order forgets its own."""
        with self.db.transaction() as session:
            result = session.execute(
                update(OrderRow)
                .where(OrderRow.chat_id == old)
                .values(chat_id=new, status_message_id=0)
                .execution_options(synchronize_session=False)
            )
            session.execute(update(Customer).where(Customer.chat_id == old).values(chat_id=new))
        return int(getattr(result, "rowcount", 0) or 0)

    def delete_finished_before(self, cutoff: float, batch: int, paid_cutoff: float) -> int:
        """Delete orders finished at or before `cutoff` (with their history and lines), and
        of those with a payment only the ones finished by `paid_cutoff` too (the books keep a
        sale for the legal term), `batch` per transaction; how many went. Their ids stay
        issued; payments and refunds stay (they name the id, not the order)."""
        paid = select(PaymentRow.id).where(PaymentRow.order_id == OrderRow.id).exists()
        removed = 0
        while True:
            with self.db.transaction() as session:
                ids = list(
                    session.scalars(
                        select(OrderRow.id)
                        .where(OrderRow.finished_at > 0, OrderRow.finished_at <= cutoff)
                        .where(~paid | (OrderRow.finished_at <= paid_cutoff))
                        .limit(batch)
                    )
                )
                if not ids:
                    return removed
                session.execute(delete(OrderEvent).where(OrderEvent.order_id.in_(ids)))
                session.execute(delete(OrderRow).where(OrderRow.id.in_(ids)))
            removed += len(ids)

    def requeue(self, order_id: str, lost_epoch: str, epoch: str, task_ids: list[str]) -> bool:
        """Record a new chain for an order whose chain was lost with Redis epoch `lost_epoch`;
        False when someone else (another sweep) already did."""
        with self.db.transaction() as session:
            result = session.execute(
                update(OrderRow)
                .where(OrderRow.id == order_id, OrderRow.queued_epoch == lost_epoch)
                .values(task_ids=",".join(task_ids), task_id=task_ids[0], queued_epoch=epoch)
                .execution_options(synchronize_session=False)
            )
        return bool(getattr(result, "rowcount", 0))

    def note_error(self, order_id: str, error: str) -> None:
        """Remember the latest error of a retried step on the order (if it exists)."""
        self.set_fields(order_id, **{LAST_ERROR_FIELD: error})
