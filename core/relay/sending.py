"""Sending what the relay carries through the workers' delivery path (core.telegram.courier):
each message once under its key, in the shared flood limits, as a reply where one is given.
A text that must wait long for its chat is handed to the workers (still sent once); a photo
or an album is sent now or raises, for the caller to say so."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.relay.photos import OrderPhoto
from core.telegram.client import TooManyRequests, TransientError
from core.telegram.courier import Courier
from core.telegram.handover import FIRST_BACKOFF, Outgoing
from core.telegram.limited_calls import held_by_limiter

# Telegram's largest album (sendMediaGroup takes 2–10 items).
ALBUM_MAX = 10


def _reply(reply_to: int) -> dict[str, Any]:
    # A reply under a message that was deleted meanwhile still goes out, as a plain message.
    if not reply_to:
        return {}
    return {"reply_parameters": {"message_id": reply_to, "allow_sending_without_reply": True}}


def send_text(
    courier: Courier,
    chat_id: int,
    text: str,
    key: str,
    reply_to: int = 0,
    reply_markup: dict[str, Any] | None = None,
) -> int | None:
    """Send `text` (HTML) once under `key`; the message id, or None (unreachable, or handed
    to the workers and sent from there)."""
    message = Outgoing(chat_id, text, key, reply_markup, True, _reply(reply_to) or None)
    try:
        return courier.deliver(message)
    except (TooManyRequests, TransientError) as exc:
        if courier.later is None:
            raise
        countdown = exc.retry_after if isinstance(exc, TooManyRequests) else FIRST_BACKOFF
        courier.later.send(message, countdown, held=held_by_limiter(exc))
        return None


def send_photo(
    courier: Courier, chat_id: int, file_id: str, caption: str, key: str, reply_to: int = 0
) -> int | None:
    """Send a photo Telegram already has (by file id) once under `key`; its message id."""
    params = {
        "chat_id": chat_id,
        "photo": file_id,
        "caption": caption or None,
        "parse_mode": "HTML",
        **_reply(reply_to),
    }
    result = courier.sends.send_once(chat_id, key, "sendPhoto", params)
    return int(result["message_id"]) if isinstance(result, dict) else result


def send_album(
    courier: Courier,
    photos: Sequence[OrderPhoto],
    order_id: str,
    chat_id: int,
    reply_to: int = 0,
    caption: str = "",
) -> list[int]:
    """Post an order's photos as albums of at most ten (one photo alone as a photo), each
    once; the first message id of each. `caption` goes on the first photo."""
    sent: list[int] = []
    for part, start in enumerate(range(0, len(photos), ALBUM_MAX)):
        chunk = photos[start : start + ALBUM_MAX]
        key = f"order:{order_id}:album:{chat_id}:{reply_to}:{part}"
        first_caption = caption if part == 0 else ""
        if len(chunk) == 1:
            found = send_photo(courier, chat_id, chunk[0].file_id, first_caption, key, reply_to)
        else:
            media = [
                {
                    "type": "photo",
                    "media": photo.file_id,
                    **({"caption": first_caption, "parse_mode": "HTML"} if i == 0 else {}),
                }
                for i, photo in enumerate(chunk)
            ]
            params = {"chat_id": chat_id, "media": media, **_reply(reply_to)}
            result = courier.sends.send_once(
                chat_id, key, "sendMediaGroup", params, cost=len(chunk)
            )
            found = int(result[0]["message_id"]) if isinstance(result, list) else result
        if found is not None:
            sent.append(found)
    return sent
