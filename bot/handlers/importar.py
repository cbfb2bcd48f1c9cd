"""CSV documents from staff become import jobs; /importar (/import) explains the format."""

from __future__ import annotations

import logging

from telegram import Chat
from telegram.error import Forbidden, NetworkError, RetryAfter
from telegram.ext import filters

from bot.context import BotContext, Incoming, on_message
from bot.handlers.staff_access import is_staff, staff_or_refuse
from bot.rate_limiter import own_fallback
from core import texts
from core.importer.jobs import ImportJobs
from core.importer.run import format_size
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
