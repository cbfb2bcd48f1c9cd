"""What every task that talks to Telegram shares: how it waits and retries."""

from __future__ import annotations

from typing import Any

from celery import Task

from core.botapi import TooManyRequests, TransientError
from tasks import context as ctx

# For `@app.task(**TELEGRAM_RETRY)`: 5xx and dropped connections retry with exponential
# backoff and jitter, a bounded number of times.
TELEGRAM_RETRY: dict[str, Any] = {
    "autoretry_for": (TransientError,),
    "retry_backoff": 1,
    "retry_backoff_max": int(ctx.settings().retry_backoff_max),
    "retry_jitter": True,
    "max_retries": 10,
}


class TelegramTask(Task):  # type: ignore[misc]
    """A task whose 429s wait exactly `retry_after` and retry, without counting as failures."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except TooManyRequests as exc:
            raise self.retry(countdown=exc.retry_after, exc=exc, max_retries=None) from None
