"""Long-lived clients of a worker process, built on first use (after Celery's fork)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import redis

from core.botapi import BotApi
from core.delivery import Courier
from core.fulfilment import Fulfilment
from core.payment import PaymentClient
from core.photojobs import PhotoJobStore
from core.photos import PhotoProcessing
from core.settings import Settings, get_settings
from core.store import OrderStore


def settings() -> Settings:
    return get_settings()


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings().redis_url, decode_responses=True)


@cache
def bot_api() -> BotApi:
    return BotApi(settings().telegram_api_url, settings().telegram_bot_token)


@cache
def courier() -> Courier:
    return Courier(bot_api(), redis_client())


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
