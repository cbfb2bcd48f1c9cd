"""Photos and image documents: one job each, answered with a status message at once."""

from __future__ import annotations

from bot.context import BotContext, Incoming, on_message
from bot.handlers.common import addressed_to_bot, within_quota
from bot.placing import NewPhoto, Reply, place
from core import texts
from core.photos.processing import MAX_DOWNLOAD_BYTES, reject_sentence


@on_message
async def foto(incoming: Incoming, context: BotContext) -> None:
    """Check the image and the sender's quota, then place a photo job (bot.placing), whose
    `procesar_imagen` gets the photo's largest size (or the image document)."""
    message = incoming.message
    if not addressed_to_bot(message, context.bot.id, context.bot.username):
        return
    file_id = await _image_of(incoming)
    if file_id is None:
        return
    svc = context.services
    if not await within_quota(
        incoming, svc, svc.quotas.photos, "quota.photos", "quota.photo_unavailable", quote=True
    ):
        return
    new = NewPhoto(
        incoming.chat.id, incoming.user.id, message.message_id, incoming.lang, message, file_id
    )
    await place(context, new, Reply(message, quote=True))


async def _image_of(incoming: Incoming) -> str | None:
    """The file id of the image to process; None when there is none we could take (the
    sender is told why when it is not an image or too big to download)."""
    message, lang = incoming.message, incoming.lang
    if message.photo:
        largest = message.photo[-1]  # Telegram lists the sizes smallest first
        file_id, size = largest.file_id, largest.file_size or 0
    elif message.document:
        document = message.document
        if not (document.mime_type or "").startswith("image/"):
            await message.reply_html(texts.text(lang, "photo.not_image"))
            return None
        file_id, size = document.file_id, document.file_size or 0
    else:
        return None
    if size > MAX_DOWNLOAD_BYTES:
        # Telegram will not serve it to the bot: say so now rather than after a queue trip.
        reason = texts.Html(reject_sentence(lang, "too_big"))
        await message.reply_html(texts.text(lang, "photo.failed", id="—", reason=reason))
        return None
    return file_id
