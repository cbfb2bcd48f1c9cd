"""Placing work a customer is told about: the one path of orders and photo jobs.

Every entry point (/pedido, a guided order's Confirmar, a photo) calls `place`, after its own
checks and quotas, which does four things in this order:

1. store the unit (an order, a photo job), keyed by the message it came from, so that a
   re-delivered update finds the same unit and places nothing twice;
2. show its status message: a reply, or the confirmation message edited in place. Best
   effort: when Telegram fails, the unit stays placed, and an order's first step sends the
   status message (a photo job goes on without one);
3. record that message's id on the unit, for the workers to edit;
4. queue it. Services.start_order/start_photo take the unit's core.recovery.starts entry
   first, so it is queued once whoever does it. While Redis is unreachable an order is tried
   again for a while, then left to the recovery sweep; when Redis refuses writes (out of
   memory) nothing was queued, so the unit is taken back whole and the customer told to try
   again later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import redis
from telegram import CallbackQuery, Message
from telegram.constants import ParseMode
from telegram.error import Forbidden, NetworkError, RetryAfter

from bot.context import BotContext
from bot.markup import inline
from bot.rate_limiter import own_fallback
from bot.services import Services
from core import texts
from core.admission import Closed, discard_order, opening_words, out_of_memory, outside_hours
from core.db.engine import is_outage
from core.keyboards import status_keyboard
from core.orders.model import Order
from core.orders.priced import place_priced
from core.orders.pricing import Quote
from core.photos.jobs import PhotoJob
from core.photos.processing import status_text
from core.shophours.clock import ShopClock, shop_clock

log = logging.getLogger(__name__)

U = TypeVar("U", Order, PhotoJob)
Keyboard = dict[str, Any] | None

# Waits between tries while Redis is unreachable (a restart or a failover takes seconds):
# about 15 s in all, inside core.recovery.starts' grace, so this bot normally queues its own orders
# and the recovery sweep only those of a bot that died.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


class StatusMessage(ABC):
    """Where a unit's status message is shown."""

    # Telegram's failures that leave the unit placed without this status message.
    tolerated: ClassVar[tuple[type[Exception], ...]]

    @abstractmethod
    async def show(self, text: str, keyboard: Keyboard) -> int:
        """Show the status (HTML); the id of the message showing it."""


@dataclass(frozen=True)
class Reply(StatusMessage):
    """The status message answers the customer's message (/pedido, a photo)."""

    message: Message
    # None: Telegram's default (quoted in groups, not in private chats).
    quote: bool | None = None

    # A 403 too: the first step then marks the chat unreachable until it writes again.
    tolerated = (NetworkError, RetryAfter, Forbidden)

    async def show(self, text: str, keyboard: Keyboard) -> int:
        # Not handed to the workers when the chat is busy: the unit has its own fallback.
        with own_fallback():
            sent = await self.message.reply_html(
                text, reply_markup=inline(keyboard), do_quote=self.quote
            )
        return sent.message_id

    async def say(self, text: str) -> None:
        """Answer the customer's message with `text` (HTML), quoted as the status is."""
        await self.message.reply_html(text, do_quote=self.quote)


@dataclass(frozen=True)
class Confirmation(StatusMessage):
    """A guided order's confirmation message (the pressed one) becomes its status message."""

    query: CallbackQuery
    message_id: int

    tolerated = (NetworkError, RetryAfter)

    async def show(self, text: str, keyboard: Keyboard) -> int:
        await self.query.edit_message_text(
            text, parse_mode=ParseMode.HTML, reply_markup=inline(keyboard)
        )
        return self.message_id


@dataclass(frozen=True)
class NewUnit(ABC, Generic[U]):
    """What is being placed, and what differs between an order and a photo job."""

    chat_id: int
    user_id: int
    source_message_id: int
    lang: str

    # Its name in the logs (order=P-…, job=F-…), and the text key of "not made, try later".
    name: ClassVar[str]
    refusal: ClassVar[str]
    # Waits between tries to queue it while Redis is unreachable.
    retry_delays: ClassVar[tuple[float, ...]]

    @abstractmethod
    async def store(self, svc: Services) -> tuple[U, bool]:
        """The unit stored (or found, for a re-delivered update); whether it is new."""

    @abstractmethod
    def status(self, unit: U) -> tuple[str, Keyboard]:
        """Its status message's text and keyboard."""

    @abstractmethod
    async def record_and_queue(self, svc: Services, unit: U, status_id: int) -> None:
        """Record the status message (0: none) and queue the unit if it is not yet."""

    @abstractmethod
    async def discard(self, svc: Services, unit: U) -> None:
        """Remove the unit, which never started, and everything its store wrote."""

    @abstractmethod
    async def tell_not_made(self, context: BotContext, unit: U, text: str) -> None:
        """Say `text` in the unit's chat when it has no status message to say it in."""


@dataclass(frozen=True)
class NewOrder(NewUnit[Order]):
    """An order: its chain is queued, and tried again while Redis is unreachable."""

    text: str

    name = "order"
    refusal = "order.error.store_unavailable"
    retry_delays = RETRY_DELAYS

    async def store(self, svc: Services) -> tuple[Order, bool]:
        return await svc.place_order(
            self.chat_id, self.user_id, self.text, self.source_message_id, self.lang
        )

    def status(self, unit: Order) -> tuple[str, Keyboard]:
        return texts.status_message(unit), status_keyboard(unit)

    async def record_and_queue(self, svc: Services, unit: Order, status_id: int) -> None:
        # Recorded with its chain's ids in one transaction, enqueued, and on a replica (with
        # Sentinel) before this returns.
        if not unit.task_id and await svc.start_order(unit.id, status_id) is not None:
            return
        if status_id:
            await svc.run(svc.store.set_fields, unit.id, status_message_id=status_id)

    async def discard(self, svc: Services, unit: Order) -> None:
        await svc.run(discard_order, svc.store, unit, self.source_message_id)

    async def tell_not_made(self, context: BotContext, unit: Order, text: str) -> None:
        # A message of its own: a guided order has no message of the customer's to answer.
        await context.bot.send_message(unit.chat_id, text, parse_mode="HTML")


@dataclass(frozen=True)
class NewPricedOrder(NewOrder):
    """An order of catalogue products at today's prices, its stock reserved as it is stored
    (catalogue.store.OutOfStock when a line ran out: nothing stored)."""

    quote: Quote = field(default_factory=lambda: Quote("", ()))
    # Where it comes from: a summary's Confirmar or a cart's checkout, once per currency.
    source: str = ""
    # "" (sin cobro) or cash; telegram and stars come with their invoice (bot.invoices).
    payment_method: str = ""

    async def store(self, svc: Services) -> tuple[Order, bool]:
        return await svc.run(
            place_priced,
            svc.store,
            self.chat_id,
            self.user_id,
            self.quote,
            self.source,
            self.lang,
            self.payment_method,
        )


@dataclass(frozen=True)
class NewPhoto(NewUnit[PhotoJob]):
    """A photo job: queued once; when that fails the recovery sweep queues it."""

    message: Message
    file_id: str

    name = "job"
    refusal = "quota.photo_unavailable"
    retry_delays = RETRY_DELAYS

    async def store(self, svc: Services) -> tuple[PhotoJob, bool]:
        return await svc.run(
            svc.photo_jobs.create,
            self.chat_id,
            self.user_id,
            self.file_id,
            self.source_message_id,
            self.lang,
        )

    def status(self, unit: PhotoJob) -> tuple[str, Keyboard]:
        return status_text(unit), None

    async def record_and_queue(self, svc: Services, unit: PhotoJob, status_id: int) -> None:
        if status_id:
            await svc.run(svc.photo_jobs.set_fields, unit.id, status_message_id=status_id)
        if not unit.task_id:
            await svc.start_photo(unit.id)

    async def discard(self, svc: Services, unit: PhotoJob) -> None:
        await svc.run(svc.photo_jobs.discard, unit.id)

    async def tell_not_made(self, context: BotContext, unit: PhotoJob, text: str) -> None:
        await self.message.reply_html(text, do_quote=True)


async def place(context: BotContext, new: NewUnit[U], status: StatusMessage) -> None:
    """Store `new`, show its status message, record it and queue the unit (module doc);
    outside opening hours an order is taken for the opening or refused (core.admission)."""
    clock, closed = _hours(context, new)
    if closed is not None and not closed.take:
        log.info("%s refused for chat=%s: the shop is closed", new.name, new.chat_id)
        await _say(status, texts.text(new.lang, "hours.refused", **_opening(clock, closed, new)))
        return
    try:
        unit, created = await new.store(context.services)
    except Exception as exc:
        # Redis or the database unreachable: nothing was stored, the customer hears so.
        if not (isinstance(exc, redis.RedisError) or is_outage(exc)):
            raise
        if not isinstance(status, Reply):
            raise  # a press is answered with an error alert (bot.handlers.buttons)
        log.exception("%s store unavailable for chat=%s", new.name, new.chat_id)
        await status.say(texts.text(new.lang, new.refusal))
        return
    if not created:
        log.info("%s=%s: update re-delivered (chat=%s)", new.name, unit.id, new.chat_id)
    status_id = 0
    if not unit.status_message_id:
        status_id = await _show(new, unit, status)
    await _start(context, new, unit, status_id)
    if closed is not None and created:
        taken = texts.text(new.lang, "hours.taken", id=unit.id, **_opening(clock, closed, new))
        await context.bot.send_message(new.chat_id, taken, parse_mode="HTML")


def _hours(context: BotContext, new: NewUnit[U]) -> tuple[ShopClock, Closed | None]:
    """The shop's clock, and whether it is closed for this unit (orders only)."""
    config = context.services.settings
    clock = shop_clock(config.shop_hours, config.shop_timezone, config.report_timezone)
    if not isinstance(new, NewOrder):
        return clock, None
    return clock, outside_hours(clock, config.outside_hours, time.time())


def _opening(clock: ShopClock, closed: Closed, new: NewUnit[U]) -> dict[str, str]:
    return opening_words(clock, closed.opens_at, new.lang)


async def _say(status: StatusMessage, text: str) -> None:
    """Answer where the unit's status would have gone: a reply, or the pressed message."""
    if isinstance(status, Reply):
        await status.say(text)
    else:
        await status.show(text, None)


async def _show(new: NewUnit[U], unit: U, status: StatusMessage) -> int:
    """The status message's id; 0 when Telegram failed to show it."""
    try:
        status_id = await status.show(*new.status(unit))
    except status.tolerated as exc:
        log.warning("%s=%s status message not shown, placed without: %s", new.name, unit.id, exc)
        return 0
    log.info("%s=%s placed chat=%s status_message=%s", new.name, unit.id, new.chat_id, status_id)
    return status_id


async def _start(context: BotContext, new: NewUnit[U], unit: U, status_id: int) -> None:
    """Record the status message and queue the unit; or, when Redis refuses the writes (full
    memory), take the unit back whole and say "try again later"."""
    for delay in (*new.retry_delays, None):
        try:
            await new.record_and_queue(context.services, unit, status_id)
            return
        except Exception as exc:
            if out_of_memory(exc):
                await _take_back(context, new, unit, status_id)
                return
            if delay is None:
                # Still down: the unit is stored and waits in core.recovery.starts, so the recovery
                # sweep queues it once Redis is back.
                log.warning("%s=%s not queued, the recovery sweep will: %r", new.name, unit.id, exc)
                return
            log.info("%s=%s not queued (%r): trying again in %s s", new.name, unit.id, exc, delay)
            await asyncio.sleep(delay)


async def _take_back(context: BotContext, new: NewUnit[U], unit: U, status_id: int) -> None:
    """Redis is full: the unit never started (its first write was refused), so nothing of it
    remains and the customer is told to try again later."""
    log.warning("%s=%s refused: Redis is out of memory", new.name, unit.id)
    await new.discard(context.services, unit)
    refusal = texts.text(new.lang, new.refusal)
    if status_id:
        # The status message said "pendiente": it ends saying the unit was not made.
        await context.bot.edit_message_text(
            refusal, chat_id=unit.chat_id, message_id=status_id, parse_mode="HTML"
        )
    else:
        await new.tell_not_made(context, unit, refusal)
