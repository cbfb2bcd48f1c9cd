"""Long-lived clients the handlers share, as `context.services` (bot.context): opened once,
closed at shutdown.

The task modules are imported here, at the top: importing them reads no setting (Celery builds
its configuration from get_settings() at the first publish, long after `python -m bot` read
its settings)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import redis

from core.cart.drafts import DraftStore
from core.cart.store import CartStore
from core.catalogue.matching import CatalogueIndex
from core.catalogue.store import CatalogueStore
from core.conversation.store import ConversationStore
from core.orders.fulfilment import Fulfilment
from core.orders.model import Order
from core.orders.store import OrderStore
from core.payments.store import PaymentStore
from core.photos.jobs import PhotoJobStore
from core.quotas import Quotas
from core.recovery.leases import holder_name
from core.recovery.starts import PendingStarts
from core.redisconn import ReplicaFence
from core.settings import Settings
from core.staff.actions import StaffActions
from tasks import context as worker
from tasks import conversations as conversation_tasks
from tasks import orders as order_tasks
from tasks import photos as photo_tasks
from tasks import staff as staff_tasks

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What the handlers use: settings, the order store, and the task queue."""

    settings: Settings
    # Redis: conversations, quotas, dedupe guards, pending starts (never an order).
    redis: redis.Redis
    store: OrderStore
    photo_jobs: PhotoJobStore
    conversations: ConversationStore
    quotas: Quotas
    # Waits until a replica holds what the customer is about to be told (with Sentinel).
    fence: ReplicaFence
    # Stored work this bot has still to queue (the recovery sweep queues what it never does).
    starts: PendingStarts
    # The shop: the catalogue (database), each chat's cart and /pedido summaries (Redis).
    catalogue: CatalogueStore
    carts: CartStore
    drafts: DraftStore
    # Telegram payments: checkout checks, payments recorded once, refunds (core.payments).
    payments: PaymentStore
    # The matching index of the catalogue as it was at `_index_version` (rebuilt on change).
    _index: CatalogueIndex | None = None
    _index_version: float = -1.0

    async def shop_index(self) -> CatalogueIndex | None:
        """The catalogue ready for matching /pedido text; None when the shop has none."""
        version = await self.run(self.catalogue.version)
        if version == 0:
            return None
        if self._index is None or version != self._index_version:
            products = await self.run(self.catalogue.all, True)
            self._index = await asyncio.to_thread(CatalogueIndex, products)
            self._index_version = version
        return self._index

    async def place_order(
        self, chat_id: int, user_id: int, text: str, message_id: int, language: str
    ) -> tuple[Order, bool]:
        """Store an order so that it outlives a Redis failover once the customer sees it.

        Replication is asynchronous: the order is in a replica only after the fence. A
        failover between the write and the fence (another master answers the fence) may have
        lost the write, so it is made again; the store's guard on chat and message returns
        the same order when it did survive.
        """
        while True:
            before = await asyncio.to_thread(self.fence.master_id)
            order, created = await self.run(
                self.store.create, chat_id, user_id, text, message_id, language
            )
            after = await asyncio.to_thread(self.fence)
            if after.master_id == before:
                return order, created
            log.warning("order=%s: Redis failed over while it was stored; storing again", order.id)

    async def start_order(self, order_id: str, status_message_id: int = 0) -> str | None:
        """Enqueue the order's chain and record it; the first task's id (None: the recovery
        sweep took the order first, core.recovery.starts, and queues it).

        A failover between the publish and the fence may have lost the chain's first message
        with the old master; then the chain is enqueued again (its steps skip what is done).
        """
        if not await self.run(self.starts.take, "order", order_id, f"bot:{holder_name()}"):
            log.warning("order=%s: queued by the recovery sweep, not by this bot", order_id)
            return None
        while True:
            before = await asyncio.to_thread(self.fence.master_id)
            task_id = await self.enqueue_order(order_id, status_message_id)
            after = await asyncio.to_thread(self.fence)
            if after.master_id == before:
                await self.run(self.starts.done, "order", order_id)
                return task_id
            log.warning("order=%s: Redis failed over while it was enqueued; again", order_id)

    async def start_photo(self, job_id: str) -> str | None:
        """Enqueue a photo job and record it; its task id (None: the recovery sweep has it)."""
        if not await self.run(self.starts.take, "photo", job_id, f"bot:{holder_name()}"):
            log.warning("job=%s: queued by the recovery sweep, not by this bot", job_id)
            return None
        task_id = await self.enqueue_photo(job_id)
        await self.run(self.photo_jobs.update, job_id, task_id=task_id)
        await self.run(self.starts.done, "photo", job_id)
        return task_id

    async def enqueue_order(self, order_id: str, status_message_id: int = 0) -> str:
        """Start the order's Celery chain (recording its status message); the first task's id."""
        return await asyncio.to_thread(order_tasks.enqueue_order, order_id, status_message_id)

    async def watch_conversation(self, chat_id: int, user_id: int, token: str) -> None:
        """Have a worker tell the user if this step of their guided order times out."""
        await asyncio.to_thread(
            conversation_tasks.schedule_timeout,
            chat_id,
            user_id,
            token,
            self.conversations.timeout,
        )

    async def enqueue_photo(self, job_id: str) -> str:
        """Start `procesar_imagen` for a photo job; its task id."""
        return await asyncio.to_thread(photo_tasks.enqueue_photo, job_id)

    async def revoke_order(self, task_ids: list[str]) -> None:
        """Revoke a cancelled order's chain, so its queued steps never start."""
        await asyncio.to_thread(order_tasks.revoke_order, task_ids)

    def fulfilment(self) -> Fulfilment:
        """The workers' order steps and delivery path, for what the bot shows of an order."""
        # The status message is edited through the workers' Courier, whose coalescing keeps
        # the newest text last whoever edits it (a bot edit cannot be overtaken by an older
        # progress edit waiting in a worker).
        return worker.fulfilment()

    def staff_actions(self) -> StaffActions:
        """What the staff cards' buttons do (built with the workers' delivery path)."""
        return staff_tasks.staff_actions()

    async def run(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a blocking store call off the event loop; its result, typed as `fn`'s."""
        return await asyncio.to_thread(fn, *args, **kwargs)
