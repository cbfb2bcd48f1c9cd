"""What every task that talks to Telegram shares: how it waits and retries."""

from __future__ import annotations

from typing import Any

from celery.exceptions import Retry
from celery.utils.time import get_exponential_backoff_interval

from core.settings import get_settings
from core.telegram.client import TooManyRequests, TransientError
from core.telegram.limited_calls import held_by_limiter
from core.telegram.rate_limiter import INLINE_WAIT
from tasks.recovery import RecoverableTask

# For `@app.task(base=TelegramTask, **TELEGRAM_RETRY)`: 5xx and dropped connections retry
# with TelegramTask's backoff, a bounded number of times.
TELEGRAM_RETRY: dict[str, Any] = {"autoretry_for": (TransientError,), "max_retries": 10}


def wake_after(countdown: float, held: bool) -> float:
    """When to run again after a wait of `countdown` seconds.

    A wait the shared limiter holds (a 429's `retry_after`, a slot) ends in Redis to the
    millisecond, but the schedule that runs the task again is swept only every
    SWEEP_INTERVAL, so it would start up to that much late (1.5 x a 2 s `retry_after`). So
    it is scheduled up to a sweep early, and its first call sleeps out the rest of the hold
    in place (waits under INLINE_WAIT are slept): Telegram's wait is kept within
    milliseconds, and never jittered. Our own backoffs are kept as they are.
    """
    if not held:
        return countdown
    lead = min(get_settings().sweep_interval, INLINE_WAIT - 0.2)
    return max(countdown - lead, 0.0)


class TelegramTask(RecoverableTask):
    """A task that waits for Telegram (a 429's `retry_after`, or a slot of the shared
    limiter) by running again after that wait, without counting it as a retry. The wait is
    an entry of the Redis schedule (RecoverableTask), so any `retry_after` is safe.

    Its retries (5xx, dropped connections: waits Telegram did not dictate) back off as
    Celery's do: doubling from 1 s up to RETRY_BACKOFF_MAX, each wait drawn between 0 and
    that (full jitter), so retries of many tasks spread out. A 429's `retry_after` is never
    jittered: see `wake_after`.
    """

    abstract = True
    retry_backoff = 1
    retry_jitter = True

    @property
    def retry_backoff_max(self) -> int:
        """RETRY_BACKOFF_MAX, read when Celery builds the task (at the app's first use), not
        when this module is imported."""
        return int(get_settings().retry_backoff_max)

    def backoff(self) -> int:
        """Seconds before the next retry of this run, as Celery's autoretry waits."""
        return int(
            get_exponential_backoff_interval(
                factor=self.retry_backoff,
                retries=self.request.retries,
                maximum=self.retry_backoff_max,
                full_jitter=self.retry_jitter,
            )
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except TooManyRequests as exc:
            error = self.run_later(wake_after(exc.retry_after, held_by_limiter(exc)), exc)
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
