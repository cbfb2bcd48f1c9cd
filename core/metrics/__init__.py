"""The shop's Prometheus metrics: one line at each call site (`metrics.order_event("paid")`).

What is declared is in catalog.py, levels read at scrape time in sources.py, and how a
process serves them in exposition.py. Every label value passes `label()`: a value that is
not a short name (a chat id, an order id, text a user wrote) is recorded as "otro", so a
mistake at a call site cannot explode the series count or leak a customer into Prometheus.

METRICS_ENABLED=0 (configure(False)) makes every function here return at once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from prometheus_client import REGISTRY

from core.metrics import catalog
from core.metrics.sources import BackupInfo, BackupSource, CountSource, SourceCollector

__all__ = [
    "BackupInfo",
    "api_call",
    "api_result",
    "bot_api_call",
    "configure",
    "dead_letter",
    "deadline_breach",
    "enabled",
    "label",
    "order_event",
    "payment",
    "photo_job",
    "precheckout_answered",
    "precheckout_refused",
    "refund",
    "renditions_made",
    "send_delayed",
    "set_backup_source",
    "set_overdue_source",
    "set_waiting_source",
    "state_time",
    "watcher_alerts",
]

OTHER = "otro"
# A label value is a name our code chose: letters and underscores (sendMessage, pendiente,
# too_big), or an HTTP status. No digit run, dash or space: no chat id, no P-XXXXXX, no text.
_NAME = re.compile(r"^(?:[A-Za-z][A-Za-z_]{0,39}|[1-5]\d\dx?|5xx)$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

_enabled = True


def configure(on: bool) -> None:
    """METRICS_ENABLED: off, nothing is recorded (the servers are not started either)."""
    global _enabled
    _enabled = on


def enabled() -> bool:
    return _enabled


@functools.lru_cache(maxsize=512)
def label(value: str) -> str:
    """`value` if it is a short name, else "otro" (see the module's docstring)."""
    return value if _NAME.match(value) else OTHER


@functools.lru_cache(maxsize=64)
def _currency(code: str) -> str:
    return code if _CURRENCY.match(code) else OTHER


# Levels read at scrape time (sources.py), served wherever the registry is: the bot's
# /metrics, and each worker node's.
SOURCES = SourceCollector(label)
REGISTRY.register(SOURCES)


def set_waiting_source(source: CountSource | None) -> None:
    """`source()` → {state: orders in it now}, called at each scrape (the database's count)."""
    SOURCES.waiting = source


def set_overdue_source(source: CountSource | None) -> None:
    """`source()` → {deadline: orders past it now and not yet through it} ("accept": paid,
    not accepted after its 10 minutes), called at each scrape."""
    SOURCES.overdue = source


def set_backup_source(source: BackupSource | None) -> None:
    """`source()` → the newest good BackupInfo (or None: no backup yet), called at each scrape."""
    SOURCES.backup = source


# Orders. Called by the order actions once their change is committed.


def order_event(event: str, count: int = 1) -> None:
    """An order (or `count` of them, an import's batch) was created, paid, completed,
    rejected, cancelled or failed."""
    if _enabled and count > 0:
        catalog.ORDERS.labels(label(event)).inc(count)


def state_time(state: str, seconds: float) -> None:
    """An order left `state` after `seconds` in it."""
    if _enabled:
        catalog.STATE_SECONDS.labels(label(state)).observe(max(0.0, seconds))


def payment(currency: str, amount_minor: int) -> None:
    """Money received: an integer in minor units of `currency` (ISO 4217, or XTR)."""
    if _enabled:
        catalog.REVENUE.labels(_currency(currency)).inc(max(0, int(amount_minor)))


def refund(currency: str, amount_minor: int) -> None:
    """Money given back: an integer in minor units."""
    if _enabled:
        catalog.REFUNDS.labels(_currency(currency)).inc(max(0, int(amount_minor)))


def precheckout_answered(seconds: float) -> None:
    """The bot answered a pre-checkout query `seconds` after it arrived."""
    if _enabled:
        catalog.PRECHECKOUT_SECONDS.observe(max(0.0, seconds))


def precheckout_refused(reason: str) -> None:
    """A pre-checkout query answered ok=False, with a reason code (amount, state, payload...)."""
    if _enabled:
        catalog.PRECHECKOUT_REFUSALS.labels(label(reason)).inc()


# Telegram.


def api_call(method: str, result: str, retry_after: float = 0.0) -> None:
    """One Bot API call answered `result` (`api_result`); a 429's retry_after is summed."""
    if not _enabled:
        return
    name = label(method)
    catalog.BOT_API_CALLS.labels(name, label(result)).inc()
    if retry_after > 0:
        catalog.RETRY_AFTER_SECONDS.labels(name).inc(retry_after)


def api_result(code: int | None) -> str:
    """A result label from an HTTP error code: None is ok; 0 and 408 mean no answer."""
    if code is None:
        return "ok"
    if code in (0, 408):
        return "network"
    if code >= 500:
        return "5xx"
    return str(code) if 400 <= code < 500 else "error"


P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def bot_api_call(method: str) -> Iterator[None]:
    """Counts the call made inside, by how it ended: an error with `error_code` (and
    `retry_after`), as core.telegram.client raises, gives its code; any other, "error"."""
    try:
        yield
    except BaseException as exc:
        code = getattr(exc, "error_code", None)
        result = api_result(int(code)) if isinstance(code, int) else "error"
        api_call(method, result, float(getattr(exc, "retry_after", 0.0) or 0.0))
        raise
    api_call(method, "ok")


def counts_bot_api_calls(call: Callable[P, R]) -> Callable[P, R]:
    """Decorates `call(self, method, ...)`: each call counted by `bot_api_call(method)`."""

    @functools.wraps(call)
    def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        method = str(kwargs.get("method", args[1] if len(args) > 1 else "unknown"))
        with bot_api_call(method):
            return call(*args, **kwargs)

    return counted


def send_delayed(urgent: bool) -> None:
    """The shared rate limiter made a send wait for its slot."""
    if _enabled:
        catalog.SENDS_DELAYED.labels("urgent" if urgent else "progress").inc()


def dead_letter(kind: str) -> None:
    """A message became a dead letter (kind: send or edit)."""
    if _enabled:
        catalog.DEAD_LETTERS.labels(label(kind)).inc()


# Photos, watcher, deadlines.


def photo_job(result: str, reason: str = "") -> None:
    """A photo job ended: done, rejected (a bad input, `reason`) or failed (`reason`)."""
    if _enabled:
        catalog.PHOTO_JOBS.labels(label(result), label(reason) if reason else "").inc()


def renditions_made(seconds: float) -> None:
    """A photo's renditions took `seconds` (decode and three sizes)."""
    if _enabled:
        catalog.RENDITION_SECONDS.observe(max(0.0, seconds))


def watcher_alerts(count: int) -> None:
    """A watcher run alerted `count` customers' chats of their stale orders."""
    if _enabled and count > 0:
        catalog.WATCHER_ALERTS.inc(count)


def deadline_breach(deadline: str) -> None:
    """An order missed `deadline` (accept, ready, deliver...): once per order and deadline."""
    if _enabled:
        catalog.DEADLINE_BREACHES.labels(label(deadline)).inc()
