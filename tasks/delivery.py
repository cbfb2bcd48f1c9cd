"""Deliveries done away from the task that asked for them: sends that had to wait or failed,
coalesced edits of a message, and the replay of dead letters.

Tasks are thin: the Courier (core.telegram.courier) does the work; these own retries and give up
into the dead-letter list that admins see with /entregas. The worker's courier is built here,
beside the tasks it hands its waits to (`CeleryLater`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from celery import Task
from celery.utils.log import get_task_logger

from core.telegram.client import BadRequest, TransientError
from core.telegram.courier import Courier
from core.telegram.dead_letters import DeadLetter, DeadLetters
from core.telegram.handover import Outgoing
from tasks import app, clients
from tasks.forksafe import per_process
from tasks.telegram import TelegramTask, wake_after

log = get_task_logger(__name__)

# Attempts at a message while Telegram answers 5xx or drops the connection, then dead letter.
MAX_ATTEMPTS = 8


class CeleryLater:
    """The Courier's `Later`: the tasks below, on the telegram queue, after a wait (an entry
    of the Redis schedule, see tasks.recovery: a `retry_after` of hours is safe)."""

    def send(self, message: Outgoing, countdown: float, *, held: bool = False) -> None:
        entregar_mensaje.apply_async((message.to_dict(),), countdown=wake_after(countdown, held))

    def flush(self, chat_id: int, message_id: int, countdown: float, *, held: bool = False) -> None:
        countdown = wake_after(countdown, held)
        actualizar_mensaje.apply_async((chat_id, message_id), countdown=countdown)


@per_process
def courier() -> Courier:
    """The worker's courier: what it cannot deliver now goes to the tasks below."""
    config = clients.settings()
    return Courier(
        clients.bot_api(),
        clients.redis_client(),
        limiter=clients.limiter(),
        later=CeleryLater(),
        dead_letters_max=config.dead_letters_max,
        fence=clients.fence(),
    )


def shown_message(message: dict[str, Any]) -> str:
    """A message as task listings show it (Flower, task events, worker logs): its chat and
    key, never its text, buttons or quote (a customer's order, an address)."""
    return repr({"chat_id": message.get("chat_id"), "key": message.get("key"), "text": "…"})


class DeliveryTask(TelegramTask):
    """A send (unit: its key) or a coalesced edit (unit: the message) of one chat."""

    abstract = True

    def apply_async(self, args: Any = None, kwargs: Any = None, *more: Any, **options: Any) -> Any:
        """Every publish of a send (first, retried, handed over, swept, replayed) comes here:
        its `argsrepr` / `kwargsrepr`, what Celery shows instead of the arguments, leave the
        text out. Set at the source, the task-sent event carries no text either."""
        if args and isinstance(args[0], dict):
            options.setdefault("argsrepr", f"[{shown_message(args[0])}]")
        if kwargs and isinstance(kwargs.get("message"), dict):
            options.setdefault("kwargsrepr", repr({"message": shown_message(kwargs["message"])}))
        return super().apply_async(args, kwargs, *more, **options)

    def lease_unit(self, args: tuple, kwargs: dict) -> str | None:
        if not args:
            return None
        if isinstance(args[0], dict):
            return f"send:{args[0]['key']}"
        return f"edit:{args[0]}:{args[1]}"

    def give_up(self, args: tuple, kwargs: dict, crashes: int) -> None:
        """Its runs kept dying: the message goes to the dead letters admins see."""
        letters = courier().dead_letters
        error = f"its worker process died {crashes} times"
        if isinstance(args[0], dict):
            letter = letters.add_send(Outgoing.from_dict(args[0]), error, crashes)
        else:
            chat_id, message_id = int(args[0]), int(args[1])
            text = courier().pending_text(chat_id, message_id) or ""
            letter = letters.add_edit(chat_id, message_id, text, error, crashes)
        log.error("%s gave up: dead letter %s", self.lease_unit(args, kwargs), letter.id)


def _retry_or_give_up(task: TelegramTask, exc: Exception) -> int | None:
    """Retry with backoff while attempts remain; the attempts made when they are spent."""
    attempts = task.request.retries + 1
    if isinstance(exc, TransientError) and attempts < MAX_ATTEMPTS:
        raise task.retry(countdown=task.backoff(), exc=exc)
    return attempts


@app.task(
    bind=True,
    base=DeliveryTask,
    name="entregar_mensaje",
    queue="telegram",
    max_retries=None,
    ignore_result=True,
)
def entregar_mensaje(self: Task, message: dict[str, Any]) -> int | None:
    """Send one logical message once, in limits; a dead letter if Telegram keeps failing."""
    outgoing = Outgoing.from_dict(message)
    try:
        return courier().deliver(outgoing)
    except (TransientError, BadRequest) as exc:
        attempts = _retry_or_give_up(self, exc)
        letter = courier().dead_letters.add_send(outgoing, str(exc), attempts or 1)
        log.warning(
            "key=%s dead letter %s after %s attempts: %s", outgoing.key, letter.id, attempts, exc
        )
        return None


@app.task(
    bind=True,
    base=DeliveryTask,
    name="actualizar_mensaje",
    queue="telegram",
    max_retries=None,
    ignore_result=True,
)
def actualizar_mensaje(self: Task, chat_id: int, message_id: int) -> int | None:
    """Show the latest text wanted in a message (edits coalesced); a dead letter if it fails."""
    courier().flush_started(chat_id, message_id)
    try:
        return courier().flush(chat_id, message_id)
    except (TransientError, BadRequest) as exc:
        attempts = _retry_or_give_up(self, exc)
        text = courier().pending_text(chat_id, message_id) or ""
        letter = courier().dead_letters.add_edit(chat_id, message_id, text, str(exc), attempts or 1)
        log.warning(
            "chat=%s message=%s edit dead letter %s: %s", chat_id, message_id, letter.id, exc
        )
        return None


def replay_dead_letters(letters: DeadLetters, ids: Iterable[str]) -> list[DeadLetter]:
    """Take these letters off the list and deliver them again; the ones replayed.

    Safe to repeat: a letter is taken once, a send keeps its key (so it still arrives once)
    and an edit shows the message's latest text, whatever came after the failure.
    """
    replayed = []
    for letter_id in ids:
        letter = letters.take(letter_id)
        if letter is None:
            continue
        if letter.kind == "send" and letter.message:
            entregar_mensaje.delay(letter.message)
        elif letter.message_id is not None:
            actualizar_mensaje.delay(letter.chat_id, letter.message_id)
        replayed.append(letter)
    return replayed
