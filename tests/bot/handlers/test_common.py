"""Which messages in a group are for this bot: what a bot in privacy mode is sent (commands,
replies to it, mentions of it), and never a command named for another bot."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from telegram import Chat, Message, MessageEntity, User

from bot.handlers.common import addressed_to_bot

BOT = User(42, "Pedidos", is_bot=True, username="pedidos_bot")
ANA = User(7, "Ana", is_bot=False)
GROUP = Chat(-100123, Chat.SUPERGROUP)
PRIVATE = Chat(7, Chat.PRIVATE)


def entities_of(text: str) -> list[MessageEntity]:
    """The entities Telegram detects in `text`: a leading /command, and @mentions."""
    found = []
    for word in text.split():
        offset = text.index(word)
        word = word.rstrip("!,.")
        if word.startswith("/") and offset == 0:
            found.append(MessageEntity(MessageEntity.BOT_COMMAND, offset, len(word)))
        elif word.startswith("@"):
            found.append(MessageEntity(MessageEntity.MENTION, offset, len(word)))
    return found


def message(
    text: str, chat: Chat = GROUP, reply_to: User | None = None, caption: bool = False
) -> Message:
    """A message from Ana with `text` (or a photo with it as caption), replying to `reply_to`."""
    replied = None
    if reply_to is not None:
        replied = Message(1, datetime.now(UTC), chat, from_user=reply_to, text="earlier")
    if caption:
        return Message(
            2,
            datetime.now(UTC),
            chat,
            from_user=ANA,
            reply_to_message=replied,
            caption=text,
            caption_entities=entities_of(text),
        )
    return Message(
        2,
        datetime.now(UTC),
        chat,
        from_user=ANA,
        reply_to_message=replied,
        text=text,
        entities=entities_of(text),
    )


def addressed(msg: Message) -> bool:
    return addressed_to_bot(msg, BOT.id, "pedidos_bot")


@pytest.mark.parametrize("caption", [False, True])
def test_in_a_private_chat_everything_is_for_the_bot(caption: bool) -> None:
    assert addressed(message("hola", PRIVATE, caption=caption))
    assert addressed(message("/pedido@otro_bot 2 pizzas", PRIVATE, caption=caption))


@pytest.mark.parametrize("caption", [False, True])
def test_group_chatter_is_not(caption: bool) -> None:
    assert not addressed(message("hola a todos, ¿pedimos?", caption=caption))
    assert not addressed(message("escribe a @otro_bot", caption=caption))
    # A longer name that starts with ours is someone else.
    assert not addressed(message("gracias @pedidos_bot_beta", caption=caption))


@pytest.mark.parametrize("caption", [False, True])
def test_a_mention_is(caption: bool) -> None:
    assert addressed(message("2 pizzas, thanks @pedidos_bot!", caption=caption))
    assert addressed(message("@Pedidos_Bot 2 pizzas", caption=caption))


def test_a_mention_of_the_bots_user_is() -> None:
    by_name = MessageEntity(MessageEntity.TEXT_MENTION, 0, 7, user=BOT)
    msg = Message(2, datetime.now(UTC), GROUP, from_user=ANA, text="Pedidos, 2 pizzas")
    assert not addressed(msg)
    assert addressed(Message(2, msg.date, GROUP, from_user=ANA, text=msg.text, entities=[by_name]))


def test_a_reply_to_the_bot_is_and_a_reply_to_someone_else_is_not() -> None:
    assert addressed(message("2 pizzas cuatro quesos", reply_to=BOT))
    assert not addressed(message("2 pizzas cuatro quesos", reply_to=ANA))


@pytest.mark.parametrize("caption", [False, True])
def test_commands_are_unless_named_for_another_bot(caption: bool) -> None:
    assert addressed(message("/pedido 2 pizzas", caption=caption))
    assert addressed(message("/pedido@pedidos_bot 2 pizzas", caption=caption))
    assert addressed(message("/pedido@PEDIDOS_BOT 2 pizzas", caption=caption))
    assert not addressed(message("/pedido@otro_bot 2 pizzas", caption=caption))
    # Another bot's command stays its own, even replying to us or mentioning us.
    assert not addressed(message("/pedido@otro_bot 2 pizzas", reply_to=BOT, caption=caption))
    assert not addressed(message("/pedido@otro_bot @pedidos_bot", caption=caption))
