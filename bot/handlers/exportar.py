"""/exportar desde hasta (alias /export): the orders of a period as two CSV files, for staff."""

from __future__ import annotations

import logging

from telegram.error import Forbidden, NetworkError, RetryAfter

from bot.context import BotContext, Incoming, on_message
from bot.handlers.common import command_argument
from bot.rate_limiter import own_fallback
from core import texts
from core.reports.export import MAX_DAYS, parse_range, shop_zone
from core.reports.period import PeriodError
from tasks import exports as export_tasks

log = logging.getLogger(__name__)


@on_message
async def exportar(incoming: Incoming, context: BotContext) -> None:
    """Check the dates and post the status message at once; a worker (`exportar_pedidos`)
    writes the files, editing that message with its progress, and sends them."""
    svc, lang, message = context.services, incoming.lang, incoming.message
    usage = texts.text(lang, "export.usage", max=MAX_DAYS)
    try:
        period = parse_range(command_argument(message).split()[:2], shop_zone(svc.settings))
    except PeriodError as exc:
        problem = "" if exc.key == "usage" else texts.text(lang, f"export.{exc.key}", **exc.values)
        await message.reply_html(f"{problem}\n{usage}".strip())
        return
    first, last = period.first.isoformat(), period.last.isoformat()
    status_id = 0
    try:
        # Not handed to the workers when the chat is busy: the worker's first progress
        # then becomes the status message.
        with own_fallback():
            status = await message.reply_html(
                texts.text(lang, "export.queued", start=first, end=last), do_quote=True
            )
        status_id = status.message_id
    except (NetworkError, RetryAfter, Forbidden) as exc:
        log.warning("export chat=%s status reply failed: %s", incoming.chat.id, exc)
    await svc.run(
        export_tasks.enqueue_export,
        incoming.chat.id,
        message.message_id,
        status_id,
        first,
        last,
        lang,
    )
