"""Long-lived clients of a worker process, built on first use (after Celery's fork)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import redis

from core import redisconn
from core.conversation.store import ConversationStore
from core.orders.fulfilment import Fulfilment
from core.orders.payment import PaymentClient
from core.orders.store import OrderStore
from core.photos.jobs import PhotoJobStore
from core.photos.processing import PhotoProcessing
from core.recovery.leases import LeaseKeeper, Leases
from core.recovery.schedule import Schedule
from core.recovery.starts import PendingStarts
from core.retention import Retention
from core.settings import Settings, get_settings
from core.staff.actions import StaffActions
from core.staff.alerts import StaffAlerts
from core.staff.desk import StaffDesk
from core.telegram.client import BotApi
from core.telegram.courier import Courier
from core.telegram.limits import Limits, RateLimiter
from core.watcher.index import StaleIndex
from core.watcher.watch import Watcher


def settings() -> Settings:
    return get_settings()


@cache
def redis_client() -> redis.Redis:
    """REDIS_URL's Redis, or with Sentinel the current master (found again after a failover)."""
    return redisconn.connect(settings())


@cache
def starts() -> PendingStarts:
    """Stored orders and photo jobs their bot has not queued yet (core.recovery.starts)."""
    return PendingStarts(redis_client())


@cache
def fence() -> redisconn.ReplicaFence:
    """Waits for a replica to hold what a chat was just told (with Sentinel)."""
    return redisconn.ReplicaFence.from_settings(redis_client(), settings())


@cache
def bot_api() -> BotApi:
    return BotApi(settings().telegram_api_url, settings().telegram_bot_token.get_secret_value())


@cache
def limiter() -> RateLimiter:
    """Slots in the flood-limit buckets every worker and the bot share through Redis."""
    return RateLimiter(redis_client(), Limits.from_settings(settings()))


@cache
def courier() -> Courier:
    # Imported here: tasks.delivery imports this module (its tasks use the courier).
    from tasks.delivery import CeleryLater

    return Courier(
        bot_api(),
        redis_client(),
        limiter=limiter(),
        later=CeleryLater(),
        dead_letters_max=settings().dead_letters_max,
        fence=fence(),
    )


@cache
def store() -> OrderStore:
    return OrderStore(redis_client())


@cache
def fulfilment() -> Fulfilment:
    config = settings()
    return Fulfilment(
        store=store(),
        courier=courier(),
        payment=PaymentClient(config.payment_api_url, config.payment_timeout),
        step_seconds=config.step_seconds,
    )


@cache
def photo_jobs() -> PhotoJobStore:
    return PhotoJobStore(redis_client())


@cache
def photos() -> PhotoProcessing:
    return PhotoProcessing(
        jobs=photo_jobs(), courier=courier(), api=bot_api(), media_dir=Path(settings().media_dir)
    )


@cache
def watcher() -> Watcher:
    config = settings()
    return Watcher(
        store=store(),
        index=StaleIndex(store()),
        messenger=courier(),
        admin_chat_ids=config.admin_chat_ids,
        stale_after=config.stale_after,
        on_stale=staff_alerts().opened,
    )


@cache
def staff_desk() -> StaffDesk:
    return StaffDesk(redis_client())


@cache
def staff_alerts() -> StaffAlerts:
    config = settings()
    return StaffAlerts(
        desk=staff_desk(),
        store=store(),
        sender=courier(),
        admin_chat_ids=config.admin_chat_ids,
        escalation_chat_ids=config.escalation_chat_ids,
        stale_after=config.stale_after,
        remind_after=config.escalate_after,
        repeats=config.escalate_repeats,
        snooze_for=config.snooze_for,
    )


@cache
def staff_actions() -> StaffActions:
    # Imported here: tasks.orders and tasks.staff import this module.
    from tasks.orders import revoke_order
    from tasks.staff import retry_order

    config = settings()
    return StaffActions(
        desk=staff_desk(),
        fulfilment=fulfilment(),
        snooze_for=config.snooze_for,
        remind_after=config.escalate_after,
        retry=retry_order,
        revoke=revoke_order,
    )


@cache
def conversations() -> ConversationStore:
    return ConversationStore(redis_client(), settings().conversation_timeout)


@cache
def leases() -> Leases:
    config = settings()
    return Leases(redis_client(), config.task_lease, config.task_max_crashes)


@cache
def lease_keeper() -> LeaseKeeper:
    """Renews this process's leases four times per lease."""
    return LeaseKeeper(leases(), settings().task_lease / 4)


@cache
def schedule() -> Schedule:
    return Schedule(redis_client())


@cache
def retention() -> Retention:
    config = settings()
    return Retention(
        redis_client(), config.order_retention, config.media_retention, Path(config.media_dir)
    )
