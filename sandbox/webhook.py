"""Webhook delivery as telegram-bot-api's WebhookActor does it.

Updates go out in parallel across queues (one queue per chat, one per user for button
presses), in order within a queue, up to `max_connections` at once. A failed update is
retried at once, then after 2, 4, 8… seconds up to a random 60–120 s, or after the
`Retry-After` the webhook answered; an update whose next try would come after it expires
(a day for messages, 150 s for presses) is dropped. Redirects are failures, not followed.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import TYPE_CHECKING, Any

import aiohttp

from sandbox.bots import BotState, Update, Webhook

if TYPE_CHECKING:
    from sandbox.core import Sandbox

# The most a Retry-After header can hold an update back (WebhookActor's MAX_RETRY_AFTER).
MAX_RETRY_AFTER = 3600
# Methods Telegram will not run from a webhook answer (WebhookActor::handle).
_NOT_FROM_ANSWER = {"deletewebhook", "setwebhook", "close", "logout"}


async def _post(sandbox: Sandbox, hook: Webhook, update: Update) -> tuple[bool, str, Any, int]:
    """(delivered, error message, JSON answer, Retry-After seconds) for one attempt."""
    if sandbox.http is None:
        return False, "Sandbox HTTP client is not running", None, 0
    headers = {"Content-Type": "application/json"}
    if hook.secret_token:
        headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
    body = json.dumps(update.to_api(), ensure_ascii=False, separators=(",", ":"))
    try:
        async with sandbox.http.post(
            hook.target or hook.url,
            data=body.encode("utf-8"),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=sandbox.webhook_timeout),
            allow_redirects=False,  # Telegram treats a redirect as a wrong response
        ) as response:
            raw = await response.read()
            if not 200 <= response.status < 300:
                reason = response.reason or ""
                error = f"Wrong response from the webhook: {response.status} {reason}"
                return False, error, None, _retry_after(response.headers.get("Retry-After"))
            answer = None
            if raw and "json" in (response.content_type or ""):
                try:
                    answer = json.loads(raw)
                except ValueError:
                    answer = None
            return True, "", answer, 0
    except aiohttp.ClientConnectorError:
        return False, "Connection refused", None, 0
    except TimeoutError:
        return False, "Read timeout expired", None, 0
    except aiohttp.ClientError as exc:
        return False, f"Connection error: {exc.__class__.__name__}", None, 0


def _retry_after(value: str | None) -> int:
    """HttpQuery::get_retry_after: a non-negative integer header, else 0."""
    try:
        return min(max(int((value or "").strip()), 0), MAX_RETRY_AFTER)
    except ValueError:
        return 0


async def _run_answer(sandbox: Sandbox, bot: BotState, answer: Any) -> None:
    """A method call returned in the webhook answer, which Telegram executes too."""
    from sandbox.botapi import METHODS, Context, Params, call

    if not isinstance(answer, dict) or not isinstance(answer.get("method"), str):
        return
    method = answer["method"].lower()
    if method not in METHODS or method in _NOT_FROM_ANSWER or method.startswith("get"):
        return
    values = {k: v for k, v in answer.items() if k != "method"}
    ctx = Context(sandbox, bot, METHODS[method][0], sandbox.http)
    bot.faults.calls[ctx.method] += 1
    await call(ctx, Params(values))


def _schedule_retry(sandbox: Sandbox, bot: BotState, update: Update, retry_after: int) -> bool:
    """WebhookActor::on_update_error: when to try again; False when the update is dropped."""
    loop_now = asyncio.get_running_loop().time()
    next_delay = update.delay
    effective = float(retry_after)
    if retry_after == 0 and update.fail_count > 0:
        cap = random.uniform(sandbox.webhook_retry_max, 2 * sandbox.webhook_retry_max)
        next_delay = min(cap, next_delay * 2)
        effective = next_delay
    if sandbox.now() + effective > update.expires_at:
        return False
    update.delay = next_delay
    update.wakeup_at = loop_now + effective
    update.fail_count += 1
    return True


async def _attempt(sandbox: Sandbox, bot: BotState, hook: Webhook, update: Update) -> None:
    delivered, error, answer, retry_after = await _post(sandbox, hook, update)
    if bot.webhook is not hook or update not in bot.updates:
        return
    if delivered:
        bot.updates.remove(update)
        hook.deliveries += 1
        sandbox.events.publish(
            {"type": "webhook_delivered", "bot_id": bot.id, "update_id": update.update_id}
        )
        await _run_answer(sandbox, bot, answer)
        return
    hook.failures += 1
    hook.last_error_date = int(sandbox.now())
    hook.last_error_message = error
    sandbox.events.publish(
        {"type": "webhook_failed", "bot_id": bot.id, "update_id": update.update_id, "error": error}
    )
    if not _schedule_retry(sandbox, bot, update, retry_after):
        bot.updates.remove(update)
        sandbox.events.publish(
            {"type": "webhook_dropped", "bot_id": bot.id, "update_id": update.update_id}
        )


def _scaled(sandbox: Sandbox, update: Update) -> None:
    """Tests scale the retry timing through `webhook_retry_delay` (Telegram's is 1 s)."""
    if update.fail_count == 0:
        update.delay = sandbox.webhook_retry_delay


async def deliver_loop(sandbox: Sandbox, bot: BotState) -> None:
    """Deliver the bot's pending updates while a webhook is set."""
    loop = asyncio.get_running_loop()
    running: dict[str, asyncio.Task[None]] = {}
    try:
        while True:
            hook = bot.webhook
            if hook is None:
                return
            bot.drop_expired()
            now = loop.time()
            seen: set[str] = set()
            next_wake: float | None = None
            for update in list(bot.updates):
                if update.queue in seen:
                    continue  # only the head of each queue may go: order within a queue
                seen.add(update.queue)
                if update.queue in running or len(running) >= hook.max_connections:
                    continue
                if update.wakeup_at > now:
                    next_wake = min(next_wake or update.wakeup_at, update.wakeup_at)
                    continue
                _scaled(sandbox, update)
                running[update.queue] = loop.create_task(_attempt(sandbox, bot, hook, update))
            bot.webhook_wakeup.clear()
            waiters: set[asyncio.Future[Any]] = set(running.values())
            wakeup = loop.create_task(bot.webhook_wakeup.wait())
            waiters.add(wakeup)
            timeout = None if next_wake is None else max(0.0, next_wake - loop.time())
            try:
                await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                wakeup.cancel()  # also when this loop is cancelled (reset, shutdown)
            for queue, task in list(running.items()):
                if task.done():
                    del running[queue]
    finally:
        for task in running.values():
            task.cancel()
