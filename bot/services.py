"""Long-lived clients the handlers share, as `context.services` (bot.context): opened once,
closed at shutdown.

The task modules are imported here, at the top: importing them reads no setting (Celery builds
its configuration from get_settings() at the first publish, long after `python -m bot` read
its settings)."""

from __future__ import annotations

import asyncio
import logging
import time
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

# How often the bot looks whether another process changed the catalogue (seconds).
INDEX_RECHECK = 2.0


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
    # When the version was last read, and the catalogue's own writes seen then.
    _version_read_at: float = -INDEX_RECHECK
    _writes_seen: int = -1

    async def shop_index(self) -> CatalogueIndex | None:
        """The catalogue ready for matching /pedido text; None when the shop has none.

        The version is read at most every INDEX_RECHECK seconds rather than on every /pedido
        (a query on the hot path); this process's own changes (the staff's /catalogo) show at
        once. Only matching can lag: prices and stock are read fresh when an order is priced.
        """
        now = time.monotonic()
        writes = self.catalogue.writes
        if now - self._version_read_at >= INDEX_RECHECK or writes != self._writes_seen:
            version = await self.run(self.catalogue.version)
            self._version_read_at, self._writes_seen = now, writes
            if version != self._index_version or (version and self._index is None):
                products = await self.run(self.catalogue.all, True) if version else []
                self._index = await asyncio.to_thread(CatalogueIndex, products) if version else None
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
        # enqueue_photo records the task id (and its Redis epoch) on the job itself.
        task_id = await self.enqueue_photo(job_id)
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
