"""Webhook delivery: updates POSTed in order, retried with backoff until a 2xx answer."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from sandbox.model import BotState, Update, Webhook

if TYPE_CHECKING:
    from sandbox.core import Sandbox


async def _post(sandbox: Sandbox, hook: Webhook, update: Update) -> tuple[bool, str, Any]:
    """(delivered, error message, JSON answer) for one delivery attempt."""
    if sandbox.http is None:
        return False, "Sandbox HTTP client is not running", None
    headers = {"Content-Type": "application/json"}
    if hook.secret_token:
        headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
    body = json.dumps(update.to_api(), ensure_ascii=False, separators=(",", ":"))
    try:
        async with sandbox.http.post(
            hook.url,
            data=body.encode("utf-8"),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=sandbox.webhook_timeout),
        ) as response:
            raw = await response.read()
            if not 200 <= response.status < 300:
                reason = response.reason or ""
                return False, f"Wrong response from the webhook: {response.status} {reason}", None
            answer = None
            if raw and "json" in (response.content_type or ""):
                try:
                    answer = json.loads(raw)
                except ValueError:
                    answer = None
            return True, "", answer
    except aiohttp.ClientConnectorError:
        return False, "Connection refused", None
    except TimeoutError:
        return False, "Read timeout expired", None
    except aiohttp.ClientError as exc:
        return False, f"Connection error: {exc.__class__.__name__}", None


async def _run_answer(sandbox: Sandbox, bot: BotState, answer: Any) -> None:
    """A method call returned in the webhook answer, which Telegram executes too."""
    from sandbox.botapi import METHODS, Context, Params, call

    if not isinstance(answer, dict) or not isinstance(answer.get("method"), str):
        return
    method = answer["method"]
    if method.lower() not in METHODS:
        return
    values = {k: v for k, v in answer.items() if k != "method"}
    ctx = Context(sandbox, bot, METHODS[method.lower()][0], sandbox.http)
    bot.faults.calls[ctx.method] += 1
    await call(ctx, Params(values))


async def deliver_loop(sandbox: Sandbox, bot: BotState) -> None:
    """Deliver the bot's pending updates while a webhook is set."""
    delay = sandbox.webhook_retry_delay
    while True:
        hook = bot.webhook
        if hook is None:
            return
        if not bot.updates:
            bot.webhook_wakeup.clear()
            await bot.webhook_wakeup.wait()
            continue
        update = bot.updates[0]
        delivered, error, answer = await _post(sandbox, hook, update)
        if bot.webhook is not hook:
            continue
        if delivered:
            if bot.updates and bot.updates[0] is update:
                bot.updates.popleft()
            hook.deliveries += 1
            delay = sandbox.webhook_retry_delay
            sandbox.events.publish(
                {"type": "webhook_delivered", "bot_id": bot.id, "update_id": update.update_id}
            )
            await _run_answer(sandbox, bot, answer)
            continue
        hook.failures += 1
        hook.last_error_date = int(time.time())
        hook.last_error_message = error
        sandbox.events.publish(
            {
                "type": "webhook_failed",
                "bot_id": bot.id,
                "update_id": update.update_id,
                "error": error,
            }
        )
        await asyncio.sleep(delay)
        delay = min(delay * 2, sandbox.webhook_retry_max)
