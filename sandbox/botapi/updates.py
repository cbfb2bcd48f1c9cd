"""Getting updates: getUpdates long polling and the webhook methods."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from sandbox.botapi.params import ApiError, Context, Params, Result, bad
from sandbox.bots import BotState, Webhook
from sandbox.urls import UrlError, parse_url

UPDATE_TYPES = {
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
}


# getUpdates' long-poll cap (telegram-bot-api's LONG_POLL_MAX_TIMEOUT).
LONG_POLL_MAX_TIMEOUT = 50


async def get_updates(ctx: Context, params: Params) -> Any:
    """getUpdates: long polling with offset confirmation, limit and allowed_updates."""
    bot = ctx.bot
    if bot.webhook is not None:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
            "to delete the webhook first",
        )
    offset = params.get_int("offset") or 0
    # As telegram-bot-api reads them: integers, limit clamped to 1–100, timeout to 0–50 s.
    limit = params.get_clamped("limit", 100, 1, 100)
    timeout = params.get_clamped("timeout", 0, 0, LONG_POLL_MAX_TIMEOUT)
    _set_allowed_updates(bot, params)
    bot.confirm_updates(offset)
    bot.drop_expired()
    # One getUpdates at a time per bot: a new one ends the one still waiting, as Telegram does.
    if bot.poll_waiter is not None and not bot.poll_waiter.done():
        bot.poll_waiter.set_result("conflict")
    if not bot.updates and timeout > 0:
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        bot.poll_waiter = waiter
        # Tests (and the curious) can wait for "the bot is polling now" instead of guessing.
        ctx.sandbox.events.publish({"type": "long_poll", "bot_id": bot.id, "timeout": timeout})
        try:
            outcome = await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            outcome = "timeout"
        finally:
            if bot.poll_waiter is waiter:
                bot.poll_waiter = None
        if outcome == "conflict":
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot "
                "instance is running",
            )
        if outcome == "webhook":
            raise ApiError(409, "Conflict: terminated by setWebhook request")
        if bot.webhook is not None:
            return []
        bot.drop_expired()
    return [update.to_api() for update in list(bot.updates)[:limit]]


async def set_webhook(ctx: Context, params: Params) -> Any:
    """setWebhook, following telegram-bot-api's Client::process_set_webhook_query.

    One call a second per bot (429 retry after 1), HTTPS on ports 80, 88, 443 or 8443 unless
    the sandbox runs `--local`, secret_token of 0–256 `A-Z a-z 0-9 _ -`.
    """
    bot = ctx.bot
    url = params.get_str("url") or ""
    if not url:
        return await delete_webhook(ctx, params)
    now = time.monotonic()
    if now < bot.next_set_webhook:
        raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
    bot.next_set_webhook = now + 1
    secret = params.get_str("secret_token") or ""
    most = 100000 if ctx.sandbox.local else 100
    max_connections = params.get_clamped("max_connections", 40, 1, most)
    drop_pending = params.get_bool("drop_pending_updates")
    hook = bot.webhook
    wanted = (url, secret, max_connections)
    same = hook is not None and (hook.url, hook.secret_token or "", hook.max_connections) == wanted
    if same and not drop_pending:
        _set_allowed_updates(bot, params)
        return Result(True, "Webhook is already set")
    # The server closes the old webhook before it checks the new one: a refused URL leaves none.
    if hook is not None:
        bot.webhook = None
        bot.webhook_wakeup.set()
    if drop_pending:
        bot.updates.clear()
    _check_webhook(ctx, url, secret)
    _set_allowed_updates(bot, params)
    bot.webhook = Webhook(
        url=url,
        target=url if "://" in url else f"https://{url}",
        secret_token=secret or None,
        max_connections=max_connections,
        ip_address=params.get_str("ip_address"),
    )
    if bot.poll_waiter is not None and not bot.poll_waiter.done():
        bot.poll_waiter.set_result("webhook")
    bot.webhook_wakeup.set()
    ctx.sandbox.start_webhook(bot)
    return Result(True, "Webhook was set")


def _check_webhook(ctx: Context, url: str, secret: str) -> None:
    """The URL and secret checks of process_set_webhook_query, with its descriptions."""
    try:
        parsed = parse_url(url, default_protocol="https")
    except UrlError as exc:
        raise bad("invalid webhook URL specified") from exc
    if len(secret) > 256:
        raise bad("secret token is too long")
    if not re.fullmatch(r"[A-Za-z0-9_-]*", secret):
        raise bad("secret token contains unallowed characters")
    if not ctx.sandbox.local:
        if parsed.protocol != "https":
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        if parsed.port not in (80, 88, 443, 8443):
            raise bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


def _set_allowed_updates(bot: BotState, params: Params) -> None:
    allowed = params.get_json("allowed_updates", "can't parse allowed_updates JSON object")
    if allowed is not None:
        if not isinstance(allowed, list):
            raise bad("can't parse allowed_updates JSON object")
        bot.allowed_updates = [str(kind) for kind in allowed if str(kind) in UPDATE_TYPES]


async def delete_webhook(ctx: Context, params: Params) -> Any:
    """deleteWebhook (drop_pending_updates)."""
    bot = ctx.bot
    if params.get_bool("drop_pending_updates"):
        bot.updates.clear()
    if bot.webhook is None:
        return Result(True, "Webhook is already deleted")
    bot.webhook = None
    bot.webhook_wakeup.set()
    return Result(True, "Webhook was deleted")


async def get_webhook_info(ctx: Context, params: Params) -> Any:
    """getWebhookInfo."""
    bot = ctx.bot
    bot.drop_expired()
    hook = bot.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.updates),
    }
    if hook is not None:
        if hook.ip_address:
            info["ip_address"] = hook.ip_address
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        info["max_connections"] = hook.max_connections
        if bot.allowed_updates:
            info["allowed_updates"] = list(bot.allowed_updates)
    return info
