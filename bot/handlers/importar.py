"""CSV documents from staff become import jobs; /importar (/import) explains the format; an
imported order's customer answers its offer (Confirmar / Rechazar, core.importer.offers)."""

from __future__ import annotations

import logging

from telegram import Chat
from telegram.error import Forbidden, NetworkError, RetryAfter
from telegram.ext import filters

from bot.context import BotContext, Incoming, on_message
from bot.handlers.presses import Answer, Press, edit_pressed, remove_keyboard
from bot.handlers.staff_access import is_staff, staff_or_refuse
from bot.invoices import NewInvoicedOrder
from bot.rate_limiter import own_fallback
from core import texts
from core.importer import offers
from core.importer.jobs import ImportJobs
from core.importer.run import format_size
from core.orders.model import Order, normalize_order_id
from core.orders.pricing import Quote
from tasks import importer as import_tasks

log = logging.getLogger(__name__)

# What counts as a CSV: by name, or by the MIME types spreadsheets and phones send.
CSV_DOCUMENTS = (
    filters.Document.FileExtension("csv")
    | filters.Document.MimeType("text/csv")
    | filters.Document.MimeType("text/comma-separated-values")
)


@on_message
async def importar(incoming: Incoming, context: BotContext) -> None:
    """How to import: columns, encodings, limits."""
    settings = context.services.settings
    await incoming.message.reply_html(
        texts.text(
            incoming.lang,
            "import.help",
            rows=settings.import_max_rows,
            size=format_size(settings.import_max_bytes),
        )
    )


@on_message
async def on_csv(incoming: Incoming, context: BotContext) -> None:
    """Answer at once with a status message; a worker (`importar_datos`) does the rest."""
    message, chat, lang = incoming.message, incoming.chat, incoming.lang
    if message.document is None:
        return
    if not is_staff(incoming.update, context):
        # In groups a shared CSV is none of our business; in private say why not.
        if chat.type == Chat.PRIVATE:
            await staff_or_refuse(incoming, context)
        return
    svc = context.services
    document = message.document
    name = document.file_name or "import.csv"
    size = document.file_size or 0
    limit = svc.settings.import_max_bytes
    if size > limit:
        sizes = {"size": format_size(size), "max": format_size(limit)}
        await message.reply_html(
            texts.text(lang, "import.too_big", name=name, **sizes), do_quote=True
        )
        return
    jobs = ImportJobs(svc.redis)
    job, _created = await svc.run(
        jobs.create,
        chat.id,
        incoming.user.id,
        document.file_id,
        name,
        size,
        message.message_id,
        lang,
    )
    if not job.status_message_id:
        try:
            # Not handed to the workers when the chat is busy: the import goes on without
            # its progress bar, and its summary still comes.
            with own_fallback():
                status = await message.reply_html(
                    texts.text(lang, "import.queued", id=job.id, name=name), do_quote=True
                )
        except (NetworkError, RetryAfter, Forbidden) as exc:
            log.warning("import=%s status reply failed: %s", job.id, exc)
        else:
            await svc.run(jobs.update, job.id, status_message_id=status.message_id)
        log.info("import=%s created chat=%s file=%s size=%s", job.id, chat.id, name, size)
    if not job.task_id:
        task_id = await svc.run(import_tasks.enqueue_import, job.id)
        await svc.run(jobs.update, job.id, task_id=task_id)


async def on_button(press: Press, context: BotContext) -> Answer:
    """i:ok|no:{order}: the customer's Confirmar (its invoice, or its chain) or Rechazar (it
    is cancelled, the staff told); a press by anyone else changes nothing."""
    action, raw_id = press.pressed.fields
    svc, lang = context.services, press.lang
    order_id = normalize_order_id(raw_id)
    if order_id is None or action not in (offers.CONFIRM, offers.REJECT):
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    outcome = await svc.run(
        offers.answer_offer, svc.store, order_id, press.chat.id, press.user.id, action
    )
    order = outcome.order
    if outcome.answer is offers.Answer.NOT_YOURS:
        log.warning("order=%s offer pressed by user=%s, not its customer", order_id, press.user.id)
        return Answer(texts.plain(lang, "callback.not_yours"), alert=True)
    if order is None or outcome.answer is offers.Answer.STALE:
        await remove_keyboard(press.query)
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    if outcome.answer is offers.Answer.REJECTED:
        await edit_pressed(press.query, texts.text(order.language, "import.rejected", id=order.id))
        await _tell_staff(context, order)
        return Answer(texts.plain(lang, "import.rejected_toast", id=order.id))
    # Confirmed: the offer becomes the order's status message, as a checkout's summary does.
    shown = press.message.message_id
    await svc.run(svc.store.set_fields, order.id, status_message_id=shown)
    if outcome.answer is offers.Answer.INVOICE:
        lines = await svc.run(svc.store.lines, order.id)
        new = NewInvoicedOrder(
            order.chat_id,
            order.user_id,
            0,
            order.language,
            order.text,
            quote=Quote(order.currency, tuple(lines)),
            payment_method=order.payment_method,
            bot=context.bot,
        )
        await new.record_and_queue(svc, order, 0)
    else:
        await svc.start_order(order.id, shown)
    current = await svc.run(svc.store.get, order.id)
    await svc.run(svc.fulfilment().show_status, current, True)
    return Answer(texts.plain(lang, "import.confirmed", id=order.id))


async def _tell_staff(context: BotContext, order: Order) -> None:
    staff_chat = context.services.settings.staff_chat_id
    if staff_chat is None:
        return
    said = texts.text(
        texts.DEFAULT_LANGUAGE, "import.rejected_staff", id=order.id, chat=order.chat_id
    )
    try:
        await context.bot.send_message(staff_chat, said, parse_mode="HTML")
    except (NetworkError, RetryAfter, Forbidden) as exc:
        log.warning("order=%s rejection not told to the staff: %s", order.id, exc)
