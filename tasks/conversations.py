"""`cerrar_conversacion`: tell a user their guided order timed out, without waiting for them."""

from __future__ import annotations

from celery.utils.log import get_task_logger

from core import texts
from core.telegram.client import BotApiError
from tasks import app, delivery
from tasks import context as ctx
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)


@app.task(base=TelegramTask, name="cerrar_conversacion", **TELEGRAM_RETRY)
def cerrar_conversacion(chat_id: int, user_id: int, token: str) -> None:
    """If the conversation still waits under `token` and its time is up, say so once."""
    courier = delivery.courier()
    # A group upgraded to a supergroup meanwhile took its conversations along (core.chats).
    chat_id = courier.chat_moves.current(chat_id)
    conversation = ctx.conversations().timed_out(chat_id, user_id, token)
    if conversation is None:
        return  # the user answered, left, started again, or was told already
    if conversation.message_id:
        try:
            # The question's buttons can no longer do anything: take them away (in the
            # shared flood limits, like every other call).
            courier.remove_buttons(chat_id, conversation.message_id)
        except BotApiError as exc:  # a ForceReply question has no keyboard to take away
            log.info("chat=%s conversation buttons left as they are: %s", chat_id, exc)
    courier.send(
        chat_id,
        texts.text(conversation.language, "conversation.expired"),
        key=f"conversation:{chat_id}:{user_id}:{token}:expired",
    )


def schedule_timeout(chat_id: int, user_id: int, token: str, after: float) -> None:
    """Check the conversation once its time is up (one second of slack for clock skew)."""
    cerrar_conversacion.apply_async((chat_id, user_id, token), countdown=after + 1)
