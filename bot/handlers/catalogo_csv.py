"""A CSV document from staff: a catalogue (its header names `sku`) gets a dry-run preview
with Aplicar / Cancelar; anything else is an orders import (bot.handlers.importar).

The file is read in a thread (download, parse, compare: a 20,000-row file takes about a
second), so the event loop keeps answering other chats meanwhile. Nothing changes until a
staff member presses Aplicar; then the catalogue is replaced in one transaction.
"""

from __future__ import annotations

import io
import logging
from functools import cache

from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.context import BotContext, Incoming, on_message
from bot.handlers import importar
from bot.handlers.catalogo import catalogue_of, patiently
from bot.handlers.presses import Answer, Press, remove_keyboard
from bot.handlers.staff_access import is_staff
from bot.markup import inline
from bot.rate_limiter import own_fallback
from core import keyboards, texts
from core.catalogue import CatalogueFileError, CatalogueRejected, RowError
from core.catalogue.csvfile import MAX_BYTES
from core.catalogue.loading import catalogue_folder
from core.catalogue.previews import Changes, Preview, Previews
from core.catalogue.upload import HEAD_BYTES, DryRun, Outcome, apply, dry_run, is_catalogue
from core.importer.run import format_size
from core.settings import Settings
from core.telegram.client import BotApi, BotApiError, FileTooBig

log = logging.getLogger(__name__)

APPLY = "ap"
DROP = "no"
# Bad rows listed in the reply (the rest counted): the reply stays well under 4096 characters.
SHOWN_ERRORS = 25


@cache
def _api(api_url: str, token: str) -> BotApi:
    return BotApi(api_url, token)


def fetch(settings: Settings, file_id: str, max_bytes: int) -> tuple[bytes, bool]:
    """A Telegram file's first `max_bytes` bytes, and whether that is all of it (blocking)."""
    api = _api(settings.telegram_api_url, settings.telegram_bot_token.get_secret_value())
    path = api.call("getFile", {"file_id": file_id})["file_path"]
    buffer = io.BytesIO()
    try:
        api.download(str(path), buffer, max_bytes)
    except FileTooBig:
        return buffer.getvalue(), False
    return buffer.getvalue(), True


@on_message
async def on_csv(incoming: Incoming, context: BotContext) -> None:
    """A catalogue from staff: previewed. Any other CSV (or sender): the orders importer."""
    document, svc = incoming.message.document, context.services
    if document is None:
        return
    biggest = max(MAX_BYTES, svc.settings.import_max_bytes)
    if not is_staff(incoming.update, context) or (document.file_size or 0) > biggest:
        await importar.on_csv(incoming.update, context)  # refuses, or says too big
        return
    name = document.file_name or "catalogo.csv"
    try:
        data, whole = await svc.run(fetch, svc.settings, document.file_id, MAX_BYTES)
    except BotApiError as exc:
        log.warning("csv chat=%s file=%s not downloaded: %s", incoming.chat.id, name, exc)
        await _reply(
            incoming, texts.text(incoming.lang, "catalogue.preview.download_failed", name=name)
        )
        return
    if not is_catalogue(data[:HEAD_BYTES]):
        await importar.on_csv(incoming.update, context)
        return
    if not whole:
        await _refuse_file(incoming, name, CatalogueFileError("too_large", format_size(MAX_BYTES)))
        return
    await _preview(incoming, context, name, document.file_id, data)


async def _reply(incoming: Incoming, text: str, keyboard: keyboards.Keyboard | None = None) -> int:
    """Reply to the document; its message id. Sent by the bot itself even when the chat is
    busy (waiting for its slot): the preview's buttons act only on the message recorded."""
    with own_fallback():
        message = await patiently(
            lambda: incoming.message.reply_html(text, reply_markup=inline(keyboard), do_quote=True)
        )
    return message.message_id


async def _refuse_file(incoming: Incoming, name: str, exc: CatalogueFileError) -> None:
    lang = incoming.lang
    reason = texts.text(lang, f"catalogue.file.{exc.code}", detail=exc.detail)
    await _reply(
        incoming, texts.text(lang, "catalogue.preview.file_refused", name=name, reason=reason)
    )


def error_lines(lang: str, errors: list[RowError]) -> texts.Html:
    """Each bad row as `• línea 3, price: …`, the first SHOWN_ERRORS of them."""
    lines = []
    for error in errors[:SHOWN_ERRORS]:
        reason = texts.text(lang, f"catalogue.reason.{error.reason}", detail=error.detail)
        key = "catalogue.preview.error_cell" if error.column else "catalogue.preview.error_row"
        lines.append(texts.text(lang, key, line=error.line, column=error.column, reason=reason))
    if len(errors) > SHOWN_ERRORS:
        lines.append(texts.text(lang, "catalogue.preview.more", count=len(errors) - SHOWN_ERRORS))
    return texts.Html("\n".join(lines))


def _counts(changes: Changes) -> dict[str, int]:
    return {
        "total": changes.total,
        "new": len(changes.new),
        "changed": len(changes.changed),
        "withdrawn": len(changes.withdrawn),
        "unchanged": len(changes.unchanged),
    }


async def _preview(
    incoming: Incoming, context: BotContext, name: str, file_id: str, data: bytes
) -> None:
    svc, lang = context.services, incoming.lang
    folder = catalogue_folder(svc.settings)
    try:
        run: DryRun = await svc.run(
            dry_run, catalogue_of(context), data, svc.settings.shop_currency, folder
        )
    except CatalogueFileError as exc:
        await _refuse_file(incoming, name, exc)
        return
    except CatalogueRejected as exc:
        log.info(
            "catalogue chat=%s file=%s refused: %s bad rows",
            incoming.chat.id,
            name,
            len(exc.errors),
        )
        errors = error_lines(lang, exc.errors)
        text = texts.text(
            lang, "catalogue.preview.rejected", name=name, count=len(exc.errors), errors=errors
        )
        await _reply(incoming, text)
        return
    previews = Previews(svc.redis)
    preview = await svc.run(
        previews.create, incoming.chat.id, incoming.user.id, file_id, name, run.digest, run.version
    )
    chat = incoming.chat.id
    keyboard = preview_keyboard(lang, chat, preview.id)
    text = texts.text(lang, "catalogue.preview.ready", name=name, **_counts(run.changes))
    message_id = await _reply(incoming, text, keyboard)
    await svc.run(previews.attach, preview.id, message_id)
    log.info(
        "catalogue preview=%s chat=%s file=%s %s", preview.id, chat, name, _counts(run.changes)
    )


def preview_keyboard(lang: str, chat_id: int, preview_id: str) -> keyboards.Keyboard:
    """Aplicar / Cancelar, signed for this chat (core.keyboards)."""
    body = f"{keyboards.CATALOGUE}:{{}}:{preview_id}"
    return {
        "inline_keyboard": [
            [
                keyboards.button(
                    texts.raw(lang, "catalogue.preview.apply"), chat_id, body.format(APPLY)
                ),
                keyboards.button(
                    texts.raw(lang, "catalogue.preview.cancel"), chat_id, body.format(DROP)
                ),
            ]
        ]
    }


async def on_button(press: Press, context: BotContext) -> Answer:
    """Aplicar or Cancelar on a catalogue preview: staff only, once, on its own message."""
    action, preview_id = press.pressed.fields
    svc, lang = context.services, press.lang
    if not is_staff(press.update, context):
        return Answer(texts.plain(lang, "staff.toast.not_staff"), alert=True)
    previews = Previews(svc.redis)
    found = await svc.run(previews.get, preview_id)
    if not _is_its_message(found, press):
        await remove_keyboard(press.query)
        return Answer(texts.plain(lang, "catalogue.preview.toast_expired"), alert=True)
    preview = await svc.run(previews.take, preview_id)
    if preview is None:  # taken by a press a moment earlier
        return Answer(texts.plain(lang, "catalogue.preview.toast_expired"), alert=True)
    if action != APPLY:
        await _show(
            press, context, texts.text(lang, "catalogue.preview.cancelled", name=preview.name)
        )
        return Answer(texts.plain(lang, "catalogue.preview.toast_cancelled"))
    return await _apply(press, context, preview)


async def _show(press: Press, context: BotContext, text: str) -> None:
    """The outcome in place of the preview, without its buttons: urgent, unlike progress
    edits, since it is the answer to the press."""
    try:
        await patiently(
            lambda: context.bot.edit_message_text(
                text,
                chat_id=press.chat.id,
                message_id=press.message.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=None,
                rate_limit_args=True,
            )
        )
    except TelegramError as exc:
        log.warning("catalogue preview outcome not shown: %s", exc)


def _is_its_message(preview: Preview | None, press: Press) -> bool:
    if preview is None or preview.chat_id != press.chat.id:
        return False
    # (0: the bot sent the preview and has not yet recorded it, so the pressed one is it.)
    return preview.message_id in (0, press.message.message_id)


async def _apply(press: Press, context: BotContext, preview: Preview) -> Answer:
    svc, lang = context.services, press.lang
    try:
        # A file past the limit now comes back cut short, and its digest tells.
        data, _whole = await svc.run(fetch, svc.settings, preview.file_id, MAX_BYTES)
        outcome, changes = await svc.run(
            apply,
            catalogue_of(context),
            preview,
            data,
            svc.settings.shop_currency,
            catalogue_folder(svc.settings),
        )
    except (BotApiError, CatalogueFileError, CatalogueRejected) as exc:
        log.warning("catalogue preview=%s not applied: %s", preview.id, exc)
        outcome, changes = Outcome.GONE, None
    if outcome is Outcome.APPLIED and changes is not None:
        counts = _counts(changes)
        log.info("catalogue preview=%s applied by user=%s %s", preview.id, press.user.id, counts)
        await _show(
            press,
            context,
            texts.text(lang, "catalogue.preview.applied", name=preview.name, **counts),
        )
        return Answer(texts.plain(lang, "catalogue.preview.toast_applied"))
    key = "outdated" if outcome is Outcome.OUTDATED else "download_failed"
    await _show(press, context, texts.text(lang, f"catalogue.preview.{key}", name=preview.name))
    return Answer(texts.plain(lang, "catalogue.preview.toast_expired"), alert=True)
