"""An unmodified python-telegram-bot Bot against the sandbox: every method the project uses."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
)
from telegram import Message as TgMessage
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter

from sandbox.client import SandboxClient
from tests.sandbox.conftest import image_bytes


async def test_get_me_is_the_sandbox_bot(bot: Bot, sandbox: SandboxClient) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.id == int(sandbox.token.split(":")[0])
    assert me.username == sandbox.bot_username


async def test_user_command_reaches_get_updates(bot: Bot, sandbox: SandboxClient) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana", language_code="es")
    sent = chat.send("/pedido 2 pizzas")
    updates = await bot.get_updates(timeout=5)
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None
    assert message.message_id == sent.message_id
    assert message.text == "/pedido 2 pizzas"
    assert message.chat.id == 1001 and message.chat.type == "private"
    assert message.from_user is not None and message.from_user.language_code == "es"
    assert message.entities[0].type == "bot_command" and message.entities[0].length == 7
    # Confirming with offset empties the queue.
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()


async def test_send_edit_delete_cycle(bot: Bot, sandbox: SandboxClient) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Cancelar", callback_data="c:1")]])
    sent = await bot.send_message(
        1001, "Pedido <b>P-1</b> ▱▱▱ 0%", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    assert sent.from_user is not None and sent.from_user.is_bot
    assert sent.text == "Pedido P-1 ▱▱▱ 0%"
    assert sent.entities[0].type == "bold"
    assert sent.reply_markup == keyboard

    edited = await bot.edit_message_text(
        "Pedido P-1 ▰▱▱ 33%", chat_id=1001, message_id=sent.message_id, reply_markup=keyboard
    )
    assert isinstance(edited, type(sent)) and edited.edit_date is not None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "Pedido P-1 ▰▱▱ 33%", chat_id=1001, message_id=sent.message_id, reply_markup=keyboard
        )
    await bot.edit_message_reply_markup(chat_id=1001, message_id=sent.message_id, reply_markup=None)

    shown = chat.wait_for(lambda m: m.message_id == sent.message_id)
    assert shown.edits == ["Pedido P-1 ▱▱▱ 0%", "Pedido P-1 ▰▱▱ 33%", "Pedido P-1 ▰▱▱ 33%"]
    assert shown.buttons == []

    assert await bot.delete_message(1001, sent.message_id)
    assert chat.bot_messages() == []
    assert chat.messages()[0].deleted
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=1001, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(1001, sent.message_id)


async def test_message_ids_are_per_chat_sequences(bot: Bot, sandbox: SandboxClient) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    sandbox.private_chat(user_id=1002, first_name="Luis")
    a1 = await bot.send_message(1001, "a1")
    b1 = await bot.send_message(1002, "b1")
    a2 = await bot.send_message(1001, "a2")
    assert (a1.message_id, b1.message_id, a2.message_id) == (1, 1, 2)


async def test_errors_map_to_ptb_exceptions(bot: Bot, sandbox: SandboxClient) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999, "hola")
    with pytest.raises(BadRequest, match="Can't parse entities: can't find end tag"):
        await bot.send_message(1001, "<b>hola", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="reserved and must be escaped"):
        await bot.send_message(1001, "2.5 pizzas", parse_mode=ParseMode.MARKDOWN_V2)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(1001, "x" * 4097)
    with pytest.raises(BadRequest, match="Text must be non-empty"):
        await bot.send_message(1001, "<b></b>", parse_mode=ParseMode.HTML)
    sandbox.block_chat(1001)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(1001, "hola")
    sandbox.unblock_chat(1001)
    sandbox.fail("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter, match="Retry in 3"):
        await bot.send_message(1001, "hola")
    sandbox.fail("sendMessage", status=502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(1001, "hola")
    wrong = Bot("42:wrong-token", base_url=f"{sandbox.api_url}/bot")
    with pytest.raises(InvalidToken):
        await wrong.get_me()


async def test_send_photo_makes_telegram_sizes_and_downloads(
    bot: Bot, sandbox: SandboxClient
) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    sent = await bot.send_photo(1001, image_bytes(1920, 1080), caption="grande")
    sides = [(size.width, size.height) for size in sent.photo]
    assert sides == [(90, 51), (320, 180), (800, 450), (1280, 720)]
    assert len({size.file_unique_id for size in sent.photo}) == 4
    file = await bot.get_file(sent.photo[-1].file_id)
    data = bytes(await file.download_as_bytearray())
    assert data[:2] == b"\xff\xd8" and len(data) == sent.photo[-1].file_size
    shown = chat.wait_for(lambda m: m.caption == "grande")
    media = shown.media[0]
    assert (media.width, media.height) == (1280, 720)
    assert (media.original_width, media.original_height) == (1920, 1080)
    assert sandbox.download(media.file_id) == data
    # Sending again by file_id reuses the stored photo.
    again = await bot.send_photo(1001, sent.photo[-1].file_id)
    assert again.photo[-1].file_unique_id == sent.photo[-1].file_unique_id


async def test_send_document_keeps_bytes_name_and_mime(bot: Bot, sandbox: SandboxClient) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    payload = b"%PDF-1.4 factura"
    sent = await bot.send_document(1001, payload, filename="factura.pdf", caption="tu factura")
    assert sent.document is not None
    assert sent.document.file_name == "factura.pdf"
    assert sent.document.mime_type == "application/pdf"
    assert sent.document.file_size == len(payload)
    file = await bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == payload


async def test_send_media_group_album(bot: Bot, sandbox: SandboxClient) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    media = [
        InputMediaPhoto(image_bytes(150, 150), caption="miniatura"),
        InputMediaPhoto(image_bytes(800, 600)),
        InputMediaPhoto(image_bytes(1920, 1080)),
    ]
    sent = await bot.send_media_group(1001, media)
    assert len(sent) == 3
    assert len({m.media_group_id for m in sent}) == 1 and sent[0].media_group_id
    assert [(m.photo[-1].width, m.photo[-1].height) for m in sent] == [
        (150, 150),
        (800, 600),
        (1280, 720),
    ]
    shown = chat.wait_for_count(lambda m: m.media_group_id == sent[0].media_group_id, n=3)
    assert [m.caption for m in shown] == ["miniatura", None, None]
    with pytest.raises(BadRequest, match="can't be mixed"):
        await bot.send_media_group(
            1001,
            [InputMediaPhoto(image_bytes(10, 10)), InputMediaDocument(b"x", filename="a.txt")],
        )


async def test_answer_callback_query_reaches_the_user(bot: Bot, sandbox: SandboxClient) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Cancelar", callback_data="cancel")]])
    await bot.send_message(1001, "¿Cancelar?", reply_markup=keyboard)
    query_id = chat.press("Cancelar")
    updates = await bot.get_updates(timeout=5)
    query = updates[-1].callback_query
    assert query is not None and query.id == query_id and query.data == "cancel"
    assert isinstance(query.message, TgMessage) and query.message.text == "¿Cancelar?"
    assert await bot.answer_callback_query(query.id, text="Cancelado", show_alert=True)
    answer = chat.callback_answer(query_id, timeout=5)
    assert answer["text"] == "Cancelado" and answer["show_alert"] is True
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query.id)


async def test_commands_by_scope_and_language(bot: Bot, sandbox: SandboxClient) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    await bot.set_my_commands([BotCommand("pedido", "Hacer un pedido")], language_code="es")
    await bot.set_my_commands([BotCommand("order", "Place an order")])
    await bot.set_my_commands([BotCommand("estado", "Ver estado")], scope=BotCommandScopeChat(1001))
    assert [c.command for c in await bot.get_my_commands(language_code="es")] == ["pedido"]
    assert [c.command for c in await bot.get_my_commands()] == ["order"]
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(1001))] == [
        "estado"
    ]
    assert await bot.get_my_commands(language_code="en") == ()
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.set_my_commands([BotCommand("estado", "x")], scope=BotCommandScopeChat(4242))
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


async def test_chat_action_and_get_chat(bot: Bot, sandbox: SandboxClient) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana", username="ana")
    assert await bot.send_chat_action(1001, ChatAction.TYPING)
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await bot.send_chat_action(1001, "dancing")
    info = await bot.get_chat(1001)
    assert info.first_name == "Ana" and info.username == "ana"


async def test_webhook_methods_through_ptb(bot: Bot, sandbox: SandboxClient) -> None:
    # The cloud Bot API wants HTTPS on 80, 88, 443 or 8443 (nothing listens there: no update
    # is pending, so nothing is delivered before the webhook goes again).
    with pytest.raises(BadRequest, match=r"(?i)an https url must be provided for webhook"):
        await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="s3cret")
    # One setWebhook a second per bot, refused ones included: PTB raises RetryAfter.
    with pytest.raises(RetryAfter) as flood:
        await bot.set_webhook("https://127.0.0.1:8443/hook", secret_token="s3cret")
    assert flood.value.retry_after in (1, timedelta(seconds=1))
    await asyncio.sleep(1)  # the wait Telegram asked for is the rule under test
    assert await bot.set_webhook("https://127.0.0.1:8443/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://127.0.0.1:8443/hook"
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""


async def test_ptb_application_polling_end_to_end(sandbox: SandboxClient) -> None:
    """A PTB Application polls the sandbox, handles a command and a button, and stops cleanly."""
    import asyncio

    from telegram import Update
    from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Sí", callback_data="yes")]])
        await update.effective_message.reply_text("¿Seguro?", reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Hecho")
        await query.edit_message_text("Confirmado")

    app = (
        Application.builder()
        .token(sandbox.token)
        .base_url(f"{sandbox.api_url}/bot")
        .base_file_url(f"{sandbox.api_url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            chat.send("/start")
            asked = await asyncio.to_thread(chat.wait_for, lambda m: m.text == "¿Seguro?")
            assert asked.buttons == [["Sí"]]
            query_id = chat.press("Sí")
            answer = await asyncio.to_thread(chat.callback_answer, query_id, 10.0)
            assert answer["text"] == "Hecho"
            done = await asyncio.to_thread(chat.wait_for, lambda m: m.text == "Confirmado")
            assert done.edits == ["¿Seguro?", "Confirmado"] and done.buttons == []
        finally:
            await app.updater.stop()
            await app.stop()
    assert sandbox.pending_updates() == []
