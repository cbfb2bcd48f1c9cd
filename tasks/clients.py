"""Long-lived clients of a worker process, built on first use in each process (a pool child
never goes on with its parent's: tasks.forksafe).

The settings, the database, Redis, the Bot API, the shared flood limiter, the leases and schedule of
core.recovery and its pending starts: what every task's machinery stands on.
Nothing here knows a task, so any module may import this one: tasks.delivery builds the
courier on it, and tasks.context the features on both.
"""

from __future__ import annotations

import redis

from core import redisconn
from core.db.engine import Database
from core.recovery import epoch as recovery_epoch
from core.recovery.leases import LeaseKeeper, Leases
from core.recovery.schedule import Schedule
from core.recovery.starts import PendingStarts
from core.settings import Settings, get_settings
from core.telegram.client import BotApi
from core.telegram.rate_limiter import Limits, RateLimiter
from tasks.forksafe import per_process


def settings() -> Settings:
    return get_settings()


@per_process
def redis_client() -> redis.Redis:
    """REDIS_URL's Redis, or with Sentinel the current master (found again after a failover)."""
    return redisconn.connect(settings())


@per_process
def database() -> Database:
    """The system of record (its schema was checked as the worker started: tasks.startup)."""
    return Database(settings().database_url)


def epoch() -> str:
    """The Redis epoch queued work lives in (core.recovery.epoch): read each time, since a
    Redis that lost its data gets a new one."""
    return recovery_epoch.current(redis_client())


@per_process
def fence() -> redisconn.ReplicaFence:
    """Waits for a replica to hold what a chat was just told (with Sentinel)."""
    return redisconn.ReplicaFence.from_settings(redis_client(), settings())


@per_process
def bot_api() -> BotApi:
    return BotApi(settings().telegram_api_url, settings().telegram_bot_token.get_secret_value())


@per_process
def limiter() -> RateLimiter:
    """Slots in the flood-limit buckets every worker and the bot share through Redis."""
    return RateLimiter(redis_client(), Limits.from_settings(settings()))


@per_process
def leases() -> Leases:
    config = settings()
    return Leases(redis_client(), config.task_lease, config.task_max_crashes)


@per_process
def lease_keeper() -> LeaseKeeper:
    """Renews this process's leases four times per lease."""
    return LeaseKeeper(leases(), settings().task_lease / 4)


@per_process
def schedule() -> Schedule:
    return Schedule(redis_client())


@per_process
def starts() -> PendingStarts:
    """Stored orders and photo jobs their bot has not queued yet (core.recovery.starts)."""
    return PendingStarts(redis_client())
