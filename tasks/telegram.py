"""What every task that talks to Telegram shares: how it waits and retries."""

from __future__ import annotations

from typing import Any

from celery.exceptions import Retry
from celery.utils.time import get_exponential_backoff_interval

from core.settings import get_settings
from core.telegram.client import TooManyRequests, TransientError
from tasks.recovery import RecoverableTask

# For `@app.task(base=TelegramTask, **TELEGRAM_RETRY)`: 5xx and dropped connections retry
# with TelegramTask's backoff, a bounded number of times.
TELEGRAM_RETRY: dict[str, Any] = {"autoretry_for": (TransientError,), "max_retries": 10}


class TelegramTask(RecoverableTask):
    """A task that waits for Telegram (a 429's `retry_after`, or a slot of the shared
    limiter) by running again after that wait, without counting it as a retry. The wait is
    an entry of the Redis schedule (RecoverableTask), so any `retry_after` is safe.

    Its retries back off as Celery's do: doubling from 1 s up to RETRY_BACKOFF_MAX, each wait
    drawn between 0 and that (full jitter), so retries of many tasks spread out.
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
