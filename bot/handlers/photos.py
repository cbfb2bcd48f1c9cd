"""Photos and image documents: one job each, answered with a status message at once."""

from __future__ import annotations

import logging
import math

import redis
from telegram import Chat, Message
from telegram.error import Forbidden, NetworkError, RetryAfter

from bot.context import BotContext, Incoming, on_message
from bot.sending import own_fallback
from core import texts
from core.admission import out_of_memory
from core.photos.processing import MAX_DOWNLOAD_BYTES, reject_sentence, status_text

log = logging.getLogger(__name__)


def _addressed_to_bot(message: Message, bot_username: str) -> bool:
    """In groups the bot only takes photos whose caption mentions it."""
    if message.chat.type == Chat.PRIVATE:
        return True
    return f"@{bot_username}".lower() in (message.caption or "").lower()


@on_message
async def foto(incoming: Incoming, context: BotContext) -> None:
    """Queue `procesar_imagen` for the photo's largest size (or the image document)."""
    message, chat, user, lang = incoming.message, incoming.chat, incoming.user, incoming.lang
    if not _addressed_to_bot(message, context.bot.username):
        return
    if message.photo:
        largest = message.photo[-1]  # Telegram lists the sizes smallest first
        file_id, size = largest.file_id, largest.file_size or 0
    elif message.document:
        document = message.document
        if not (document.mime_type or "").startswith("image/"):
            await message.reply_html(texts.text(lang, "photo.not_image"))
            return
        file_id, size = document.file_id, document.file_size or 0
    else:
        return
    if size > MAX_DOWNLOAD_BYTES:
        # Telegram will not serve it to the bot: say so now rather than after a queue trip.
        await message.reply_html(
            texts.text(
                lang, "photo.failed", id="—", reason=texts.Html(reject_sentence(lang, "too_big"))
            )
        )
        return

    svc = context.services
    try:
        verdict = await svc.run(
            svc.quotas.take, svc.quotas.photos, user.id, chat.id, message.message_id
        )
        if not verdict.allowed:
            log.info("photo quota reached user=%s chat=%s", user.id, chat.id)
            if verdict.tell:
                await message.reply_html(
                    texts.text(
                        lang,
                        "quota.photos",
                        limit=svc.quotas.photos.limit,
                        wait=texts.format_age(math.ceil(verdict.wait), lang),
                    ),
                    do_quote=True,
                )
            return
        job, _created = await svc.run(
            svc.photo_jobs.create, chat.id, user.id, file_id, message.message_id, lang
        )
    except redis.RedisError:
        log.exception("photo store unavailable for chat=%s", chat.id)
        await message.reply_html(texts.text(lang, "quota.photo_unavailable"), do_quote=True)
        return
    status_id = 0
    if not job.status_message_id:
        try:
            # Not handed to the workers when the chat is busy: the job goes on without it.
            with own_fallback():
                status = await message.reply_html(status_text(job), do_quote=True)
        except (NetworkError, RetryAfter, Forbidden) as exc:
            # The job is stored: it still runs, and its album arrives without a status.
            log.warning("job=%s status reply failed: %s", job.id, exc)
        else:
            status_id = status.message_id
            log.info("job=%s created chat=%s", job.id, chat.id)
    try:
        if status_id:
            await svc.run(svc.photo_jobs.update, job.id, status_message_id=status_id)
        if not job.task_id:
            await svc.start_photo(job.id)
    except Exception as exc:
        if not out_of_memory(exc):
            # The job is stored and waits in core.recovery.starts: the recovery sweep queues it.
            log.warning("job=%s not queued now, the recovery sweep will: %r", job.id, exc)
            return
        log.warning("job=%s refused: Redis is out of memory", job.id)
        await svc.run(svc.photo_jobs.forget, job, message.message_id)
        refusal = texts.text(lang, "quota.photo_unavailable")
        if status_id:
            await context.bot.edit_message_text(
                refusal, chat_id=chat.id, message_id=status_id, parse_mode="HTML"
            )
        else:
            await message.reply_html(refusal, do_quote=True)
