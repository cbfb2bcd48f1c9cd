"""Small helpers every handler uses."""

from __future__ import annotations

from telegram import Message, MessageEntity, Update

from core.texts import pick_language


def language_of(update: Update) -> str:
    """Our language for whoever sent the update."""
    user = update.effective_user
    return pick_language(user.language_code if user else None)


def command_argument(message: Message) -> str:
    """The text after the command (`/pedido@bot 2 pizzas` → `2 pizzas`), newlines kept."""
    text = message.text or message.caption or ""
    for entity in message.entities or ():
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            return text[entity.length :]
    return text.partition(" ")[2]
