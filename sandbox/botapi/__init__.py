"""The Bot API methods, with Telegram's parameters, rules and error descriptions.

One module per method family; this one names every method and runs it.
"""

from __future__ import annotations

from typing import Any

from sandbox.botapi import commands, edits, files, messages, updates
from sandbox.botapi.params import ApiError, Context, Handler, Params, Result, bad
from sandbox.payments import api as payments

__all__ = ["METHODS", "ApiError", "Context", "Params", "Result", "bad", "call"]

METHODS: dict[str, tuple[str, Handler]] = {
    name.lower(): (name, handler)
    for name, handler in {
        "getMe": messages.get_me,
        "logOut": messages.log_out,
        "close": messages.log_out,
        "getUpdates": updates.get_updates,
        "setWebhook": updates.set_webhook,
        "deleteWebhook": updates.delete_webhook,
        "getWebhookInfo": updates.get_webhook_info,
        "sendMessage": messages.send_message,
        "sendPhoto": files.send_photo,
        "sendDocument": files.send_document,
        "sendMediaGroup": files.send_media_group,
        "editMessageText": edits.edit_message_text,
        "editMessageCaption": edits.edit_message_caption,
        "editMessageReplyMarkup": edits.edit_message_reply_markup,
        "editMessageMedia": edits.edit_message_media,
        "deleteMessage": messages.delete_message,
        "deleteMessages": messages.delete_messages,
        "sendChatAction": messages.send_chat_action,
        "getFile": files.get_file,
        "answerCallbackQuery": commands.answer_callback_query,
        "setMyCommands": commands.set_my_commands,
        "getMyCommands": commands.get_my_commands,
        "deleteMyCommands": commands.delete_my_commands,
        "getChat": messages.get_chat,
        "getChatMember": messages.get_chat_member,
        **payments.METHODS,
    }.items()
}


async def call(ctx: Context, params: Params) -> dict[str, Any]:
    """Run a method and build Telegram's JSON answer (errors included)."""
    _, handler = METHODS[ctx.method.lower()]
    try:
        result = await handler(ctx, params)
    except ApiError as exc:
        ctx.bot.faults.errors[str(exc.code)] += 1
        return exc.to_json()
    if isinstance(result, Result):
        body: dict[str, Any] = {"ok": True, "result": result.value}
        if result.description:
            body["description"] = result.description
        return body
    return {"ok": True, "result": result}
