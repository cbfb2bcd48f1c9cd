"""Order photos' worker side: `guardar_foto_pedido` keeps an attached photo's original in its
order's folder (core.relay.originals), and `send_album` posts an order's photos as albums.

The lead's order card calls `send_album(order_id, chat_id, reply_to)` right after posting
the card (the bot calls it after a quote request's card)."""

from __future__ import annotations

from pathlib import Path

from celery.utils.log import get_task_logger

from core import texts
from core.relay import sending
from core.relay.originals import keep_original
from core.relay.photos import OrderPhotos
from tasks import app, clients
from tasks import context as ctx
from tasks.forksafe import per_process
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)


@per_process
def order_photos() -> OrderPhotos:
    return OrderPhotos(clients.database())


@app.task(base=TelegramTask, name="guardar_foto_pedido", **TELEGRAM_RETRY)
def guardar_foto_pedido(photo_id: int) -> str:
    """Download an attached photo's original into its order's folder, once; its path."""
    media_dir = Path(clients.settings().media_dir)
    return keep_original(order_photos(), clients.bot_api(), media_dir, photo_id)


def keep_photo(photo_id: int) -> str:
    """Queue the download of an attached photo's original; the task id."""
    return str(guardar_foto_pedido.apply_async((photo_id,), queue="images").id)


def send_album(order_id: str, chat_id: int, reply_to: int = 0) -> list[int]:
    """Post the order's photos (by file id, at most ten an album) under `reply_to`, each
    album once; the first message id of each (none when the order has no photos)."""
    photos = order_photos().of_order(order_id)
    if not photos:
        return []
    caption = texts.text("es", "order_photo.album", id=order_id)
    return sending.send_album(
        ctx.fulfilment().courier, photos, order_id, chat_id, reply_to, caption
    )


def post_album(order_id: str, chat_id: int, reply_to: int = 0) -> list[int]:
    """send_album for the bot (the same delivery path, run in the bot's thread)."""
    return send_album(order_id, chat_id, reply_to)
