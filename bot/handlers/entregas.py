"""/entregas (alias /deliveries): the dead-letter list of deliveries, and its replay, for admins."""

from __future__ import annotations

import time

from telegram import Chat

from bot.context import BotContext, Incoming, on_message
from bot.handlers.common import admin_or_refuse, command_argument
from core import texts
from core.admins import Admins, personal_data_allowed
from core.telegram.dead_letters import DeadLetter, DeadLetters
from tasks import delivery as delivery_tasks

SHOWN = 10
REPLAY_WORDS = ("reenviar", "replay")
ALL_WORDS = ("todas", "all")
TEXT_PREVIEW = 80
# A replay answer names at most this many ids (all of them could pass Telegram's 4096).
REPLAY_IDS_SHOWN = 20


@on_message
async def entregas(incoming: Incoming, context: BotContext) -> None:
    """List failed deliveries to an admin, or replay them (`reenviar <id…|todas>`)."""
    if not await admin_or_refuse(incoming, context, "delivery.admins_only"):
        return
    svc, lang = context.services, incoming.lang
    letters = DeadLetters(svc.redis, svc.settings.dead_letters_max)
    # Customers' texts only where an admin alone reads them, or the staff chat (core.admins).
    chat = incoming.chat
    show_text = personal_data_allowed(
        chat.id, svc.settings.staff_chat_id, Admins.only_admins_read(chat.type == Chat.PRIVATE)
    )
    words = command_argument(incoming.message).split()
    if words and words[0].lower() in REPLAY_WORDS:
        answer = await svc.run(_replay, letters, words[1:], lang)
    else:
        answer = await svc.run(_listing, letters, lang, time.time(), show_text)
    await incoming.message.reply_html(answer)


def _listing(letters: DeadLetters, lang: str, now: float, show_text: bool) -> str:
    count = letters.count()
    dropped = letters.dropped()
    note = [texts.text(lang, "delivery.dropped", count=dropped, cap=letters.cap)] if dropped else []
    if count == 0:
        return "\n\n".join([texts.text(lang, "delivery.empty"), *note])
    shown = letters.latest(SHOWN)
    lines: list[str] = [texts.text(lang, "delivery.title", count=count)]
    lines += [_line(letter, lang, now, show_text) for letter in shown]
    if count > len(shown):
        lines.append(texts.text(lang, "delivery.more", count=count - len(shown)))
    lines += note
    lines.append(texts.text(lang, "delivery.hint", example=shown[0].id))
    return "\n\n".join(lines)


def _line(letter: DeadLetter, lang: str, now: float, show_text: bool) -> str:
    if not show_text:
        preview = texts.raw(lang, "delivery.text_hidden")
    elif len(letter.text) <= TEXT_PREVIEW:
        preview = letter.text
    else:
        preview = letter.text[:TEXT_PREVIEW] + "…"
    return texts.text(
        lang,
        "delivery.line",
        id=letter.id,
        kind=texts.raw(lang, f"delivery.kind.{letter.kind}"),
        chat=letter.chat_id,
        age=texts.format_age(now - letter.at, lang),
        text=preview,
        error=letter.error,
        attempts=letter.attempts,
    )


def _replay(letters: DeadLetters, words: list[str], lang: str) -> str:
    wanted = [w.upper() for w in words]
    if not wanted or any(w.lower() in ALL_WORDS for w in wanted):
        wanted = letters.ids()
    replayed = delivery_tasks.replay_dead_letters(letters, wanted)
    if not replayed:
        return texts.text(lang, "delivery.replayed_none")
    ids = ", ".join(letter.id for letter in replayed[:REPLAY_IDS_SHOWN])
    if len(replayed) > REPLAY_IDS_SHOWN:
        more = texts.plain(lang, "delivery.replayed_more", count=len(replayed) - REPLAY_IDS_SHOWN)
        ids = f"{ids} {more}"
    return texts.text(lang, "delivery.replayed", count=len(replayed), ids=ids)
