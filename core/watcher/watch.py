"""The stale-order watcher: orders unfinished after STALE_AFTER get one alert in their chat,
and the admin chats one digest per run; admins can also ask for the current list.

A run claims its orders atomically in the store (core.watcher.index.StaleIndex.claim), so
however many beats, retries or concurrent runs there are, each order is claimed once; a
retried run gets the same orders back and sends under the same delivery keys, which the
courier sends once each.
"""

from __future__ import annotations

import html
import logging
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from core import metrics, texts
from core.orders.model import Order
from core.orders.states import OrderState
from core.orders.store import LAST_ERROR_FIELD, OrderStore
from core.telegram.client import BadRequest, redact
from core.watcher.alerts import FRESH_READ, Outbox, StaleAlert
from core.watcher.index import StaleIndex, StaleOrder

log = logging.getLogger(__name__)

# One run alerts at most this many orders (about half a minute of Telegram's 30 messages/s);
# when more are stale, the next run starts at once (RunReport.more).
MAX_ALERTS_PER_RUN = 1000
# The longest one attempt of a run may take; the Celery task's time limit is this.
RUN_TIME_LIMIT = 600
# A pending run with no attempt for longer than this died (its worker was killed and its
# message expired): the next run takes over its claims and alerts them.
ADOPT_AFTER = RUN_TIME_LIMIT + 60
# Telegram takes 4096 characters per message; leave room for the HTML tags.
DIGEST_CHARS = 3500
# /atrasados shows at most this many orders, oldest first, and how many more there are.
LIST_LIMIT = 30
ADMIN_LANGUAGE = texts.DEFAULT_LANGUAGE


class Messenger(Protocol):
    """How the watcher reaches a chat: core.telegram.courier.Courier, once per key."""

    def send(self, chat_id: int, text: str, *, key: str) -> int | None: ...


@dataclass(frozen=True)
class RunReport:
    """What one watcher run did, for its log line and Flower."""

    run_id: str
    resumed: bool
    claimed: int
    alerted: int
    more: bool


def error_note(exc: BaseException) -> str:
    """A short, token-free line for an order's latest error (`PaymentUnavailable: HTTP 503`)."""
    detail = str(exc)
    note = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return redact(note)[:200]


def last_error(order: Order | StaleOrder) -> str:
    """The order's failure code, else the latest error of a retried step, else ''.

    On one line: an exception's text may hold newlines or control characters.
    """
    if isinstance(order, StaleOrder):
        error = order.error
    else:
        error = order.error or order.extra.get(LAST_ERROR_FIELD, "")
    if not error:
        return ""
    printable = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in error)
    return " ".join(printable.split())[:200]


def _escape(value: str) -> str:
    return html.escape(value, quote=False)


@dataclass(frozen=True)
class _Wording:
    """A language's watcher texts, looked up and their fixed parts escaped once per process:
    a run composes a thousand alerts and digest lines from them (as texts.text would, every
    value escaped)."""

    alert: Callable[..., str]
    line: Callable[..., str]
    states: dict[OrderState, str]
    no_error: str


@lru_cache(maxsize=64)
def _wording(language: str) -> _Wording:
    return _Wording(
        alert=texts.raw(language, "watcher.alert").format,
        line=texts.raw(language, "watcher.line").format,
        states={state: _escape(texts.state_name(language, state)) for state in OrderState},
        no_error=_escape(texts.raw(language, "watcher.no_error")),
    )


def order_line(order: Order | StaleOrder, now: float, language: str) -> str:
    """One order in the digest or the list: id, age, state and last error."""
    wording = _wording(language)
    error = last_error(order)
    return wording.line(
        id=_escape(order.id),
        # format_age's own output ("26 h"): digits and a unit, nothing to escape.
        age=texts.format_age(now - order.created_at, language),
        state=wording.states[order.state],
        error=_escape(error) if error else wording.no_error,
        chat=order.chat_id,
    )


def alert_text(order: StaleOrder, now: float) -> str:
    """The stale alert an order's chat gets, in the order's language."""
    return _wording(order.language).alert(
        id=_escape(order.id), age=texts.format_age(now - order.created_at, order.language)
    )


def digest_parts(orders: Sequence[Order | StaleOrder], now: float, stale_after: float) -> list[str]:
    """The admins' digest of newly stale orders, cut into messages Telegram accepts."""
    lang = ADMIN_LANGUAGE
    lines = [order_line(order, now, lang) for order in orders]
    chunks: list[list[str]] = [[]]
    size = 0
    for line in lines:
        if chunks[-1] and size + len(line) + 1 > DIGEST_CHARS:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
    after = texts.format_age(stale_after, lang)
    parts = []
    for number, chunk in enumerate(chunks, start=1):
        title: str = texts.text(lang, "watcher.digest_title", count=len(orders), after=after)
        if len(chunks) > 1:
            title += " " + texts.text(lang, "watcher.digest_part", part=number, parts=len(chunks))
        parts.append("\n".join([title, *chunk]))
    return parts


def tell_ready(messenger: Messenger, order: Order) -> None:
    """An order completed after its stale alert: a short follow-up, once."""
    messenger.send(
        order.chat_id,
        texts.text(order.language, "watcher.ready", id=order.id),
        key=f"order:{order.id}:ready_after_alert",
    )


def was_alerted(order: Order) -> bool:
    """Whether a watcher run claimed the order to alert its chat."""
    return order.stale_alerted_at > 0


@dataclass
class Watcher:
    """Finds stale orders through the store's index and tells their chats and the admins."""

    store: OrderStore
    index: StaleIndex
    messenger: Messenger
    admin_chat_ids: tuple[int, ...]
    stale_after: float
    max_per_run: int = MAX_ALERTS_PER_RUN
    adopt_after: float = ADOPT_AFTER
    clock: Callable[[], float] = time.time
    # Told of each run's newly stale orders (core.staff queues their cards with buttons).
    on_stale: Callable[[list[str], float], None] | None = None
    # Where the chat alerts go in one batch (tasks.watcher); None: sent here, one by one.
    outbox: Outbox | None = None

    def run(self, run_id: str) -> RunReport:
        """One run (or a retry of it): claim, send the digest, alert each chat, finish."""
        now = self.clock()
        cutoff = now - self.stale_after
        claim = self.index.claim(
            run_id, cutoff, self.max_per_run, now, adopt_before=now - self.adopt_after
        )
        # The claim read its orders as it marked them; one that finished since a retried
        # run's first attempt is no longer stuck (the claim left it out).
        stuck = [order for order in claim.orders if not order.state.is_final]
        if stuck and self.on_stale is not None:
            self.on_stale([order.id for order in stuck], now)
        if stuck:
            self.send_digest(run_id, stuck, now)
        alerted = self.alert_all(run_id, stuck, now)
        self.index.finish_run(
            run_id, {"at": now, "cutoff": cutoff, "claimed": len(claim.ids), "alerted": alerted}
        )
        return RunReport(run_id, claim.resumed, len(claim.ids), alerted, claim.more)

    def send_digest(self, run_id: str, orders: list[StaleOrder], now: float) -> None:
        """One digest per run in each admin chat (in parts when it is long)."""
        parts = digest_parts(orders, now, self.stale_after)
        for admin in self.admin_chat_ids:
            for number, part in enumerate(parts, start=1):
                key = f"digest:{run_id}:{admin}" + (f":{number}" if number > 1 else "")
                if not self._send(admin, part, key):
                    break

    def alert_all(self, run_id: str, orders: list[StaleOrder], now: float) -> int:
        """Each chat's alert: handed to the outbox in one batch (sent apart, once per key,
        core.watcher.alerts), or sent here; how many were handed over or sent."""
        if self.outbox is not None:
            alerts = [
                StaleAlert(order.id, order.chat_id, alert_text(order, now)) for order in orders
            ]
            if alerts:
                self.outbox.hand_over(run_id, alerts)
            return len(alerts)
        read_at = time.monotonic()
        alerted = sum(1 for order in orders if self.alert(order, now, read_at))
        metrics.watcher_alerts(alerted)
        return alerted

    def alert(self, order: StaleOrder, now: float, read_at: float) -> bool:
        """Tell the order's chat it is stuck, once; False if it finished or Telegram refused."""
        if time.monotonic() - read_at > FRESH_READ:
            state = self.store.state_of(order.id)
            if state is None or state.is_final:
                return False
        alert = alert_text(order, now)
        # No bookkeeping after the send: the claim marked the order, so the step that
        # completes it sends the "ready" follow-up.
        return self._send(order.chat_id, alert, f"order:{order.id}:stale")

    def _send(self, chat_id: int, text: str, key: str) -> bool:
        """Hand a message to the messenger; False when Telegram refused it for good.

        A None from the messenger still counts: the chat blocked the bot (nothing will
        reach it, a follow-up neither), or the message was handed over to arrive later.
        """
        try:
            self.messenger.send(chat_id, text, key=key)
        except BadRequest as exc:
            # e.g. "chat not found": retrying never helps, and other chats still get theirs.
            log.warning("watcher could not send key=%s to chat=%s: %s", key, chat_id, exc)
            return False
        return True


def stale_list(index: StaleIndex, stale_after: float, now: float, language: str) -> str:
    """The answer to /atrasados: every order stale right now (oldest first) and the last run."""
    total, orders = index.stale_now(now - stale_after, LIST_LIMIT)
    after = texts.format_age(stale_after, language)
    orders = [order for order in orders if not order.is_final]
    lines: list[str]
    if total == 0:
        lines = [texts.text(language, "watcher.list_empty", after=after)]
    else:
        lines = [texts.text(language, "watcher.list_title", count=total, after=after)]
        lines += [order_line(order, now, language) for order in orders]
        if total > len(orders):
            lines.append(texts.text(language, "watcher.list_more", count=total - len(orders)))
    lines.append(_last_run_line(index.history(1), now, language))
    return "\n".join(lines)


def _last_run_line(history: Iterable[dict[str, str | int | float]], now: float, lang: str) -> str:
    for run in history:
        age = texts.format_age(now - float(run["at"]), lang)
        return texts.text(lang, "watcher.last_run", age=age)
    return texts.text(lang, "watcher.never_run")
