"""What every task that talks to Telegram shares: how it waits and retries."""

from __future__ import annotations

import random
from typing import Any

from celery.exceptions import Retry

from core.botapi import TooManyRequests, TransientError
from tasks import context as ctx
from tasks.recovery import RecoverableTask

# For `@app.task(**TELEGRAM_RETRY)`: 5xx and dropped connections retry with exponential
# backoff and jitter, a bounded number of times.
TELEGRAM_RETRY: dict[str, Any] = {
    "autoretry_for": (TransientError,),
    "retry_backoff": 1,
    "retry_backoff_max": int(ctx.settings().retry_backoff_max),
    "retry_jitter": True,
    "max_retries": 10,
}


def backoff(retries: int) -> float:
    """Seconds before retry number `retries + 1`: doubling from 1 s up to the maximum, each
    drawn from its upper half so retries spread out yet still grow."""
    ceiling = min(ctx.settings().retry_backoff_max, 2.0**retries)
    return random.uniform(ceiling / 2, ceiling)


class TelegramTask(RecoverableTask):
    """A task that waits for Telegram (a 429's `retry_after`, or a slot of the shared
    limiter) by running again after that wait, without counting it as a retry. The wait is
    an entry of the Redis schedule (RecoverableTask), so any `retry_after` is safe."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except TooManyRequests as exc:
            error = self.run_later(exc.retry_after, exc)
            # The wait is in the schedule now: the lease may go (Celery runs no after_return).
            self.end_lease()
            raise error from None

    def run_later(self, countdown: float, exc: BaseException) -> BaseException:
        """Re-send this task with a countdown and its retry count unchanged.

        `self.retry` would count the wait against `max_retries` (its `max_retries=None` means
        "the default", not "unlimited") and stretch the backoff of later real failures.
        """
        request = self.request
        if request.called_directly or request.is_eager:
            return exc
        again = self.signature_from_request(request, countdown=countdown, retries=request.retries)
        again.apply_async()
        return Retry(exc=exc, when=countdown, sig=again)
