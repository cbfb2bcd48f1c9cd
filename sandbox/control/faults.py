"""Faults and what the bot set up: limits, forced failures, blocks, latency, counters,
the webhook, pending updates, commands and stored files."""

from __future__ import annotations

from aiohttp import web

from sandbox.control.common import (
    as_float,
    as_int,
    bot_of,
    chat_id_of,
    json_body,
    ok,
    sandbox_of,
)
from sandbox.core import ControlError
from sandbox.faults import FaultRule


async def get_limits(request: web.Request) -> web.Response:
    """GET /limits."""
    return ok(bot_of(request).faults.limits.to_dict())


async def set_limits(request: web.Request) -> web.Response:
    """POST /limits: switch flood limits on/off and tune them."""
    body = await json_body(request)
    return ok(bot_of(request).faults.set_limits(**body).to_dict())


async def get_faults(request: web.Request) -> web.Response:
    """GET /faults: limits, forced failures, blocked chats, latency."""
    return ok(bot_of(request).faults.state())


async def add_fault(request: web.Request) -> web.Response:
    """POST /faults: force answers for the next calls of a method."""
    body = await json_body(request)
    method = str(body.get("method") or "*")
    status = as_int(body.get("status", 429 if body.get("retry_after") else 502), "status")
    times = body.get("times", 1)
    retry_after = body.get("retry_after")
    if status == 429 and retry_after is None:
        retry_after = 1
    rule = FaultRule(
        method=method,
        status=status,
        times=None if times is None else as_int(times, "times"),
        drop=bool(body.get("drop", False)),
        retry_after=None if retry_after is None else as_int(retry_after, "retry_after"),
        description=body.get("description"),
        hold=as_float(body.get("hold", 0.0), "hold"),
    )
    bot_of(request).faults.add_rule(rule)
    return ok(bot_of(request).faults.state())


async def clear_faults(request: web.Request) -> web.Response:
    """DELETE /faults: drop every forced failure."""
    faults = bot_of(request).faults
    faults.rules.clear()
    return ok(faults.state())


async def block(request: web.Request) -> web.Response:
    """POST /blocked {chat_id}: the user blocked the bot (or the bot was kicked)."""
    body = await json_body(request)
    faults = bot_of(request).faults
    faults.blocked.add(as_int(body.get("chat_id"), "chat_id"))
    return ok(faults.state())


async def unblock(request: web.Request) -> web.Response:
    """DELETE /blocked/{chat_id}."""
    faults = bot_of(request).faults
    faults.blocked.discard(chat_id_of(request))
    return ok(faults.state())


async def set_latency(request: web.Request) -> web.Response:
    """POST /latency {seconds, method?}: delay Bot API answers."""
    body = await json_body(request)
    faults = bot_of(request).faults
    seconds = float(body.get("seconds", 0))
    method = body.get("method")
    if method:
        if seconds:
            faults.method_latency[str(method).lower()] = seconds
        else:
            faults.method_latency.pop(str(method).lower(), None)
    else:
        faults.latency = seconds
    return ok(faults.state())


async def counters(request: web.Request) -> web.Response:
    """GET /counters: calls per method, 429s, per-chat sends."""
    bot = bot_of(request)
    data = bot.faults.counters()
    hook = bot.webhook
    data["pending_updates"] = len(bot.updates)
    data["webhook_deliveries"] = hook.deliveries if hook else 0
    data["webhook_failures"] = hook.failures if hook else 0
    return ok(data)


async def reset_counters(request: web.Request) -> web.Response:
    """DELETE /counters: start counting from zero."""
    faults = bot_of(request).faults
    faults.calls.clear()
    faults.errors.clear()
    faults.sends_per_chat.clear()
    faults.too_many_requests = faults.forced = faults.dropped = faults.forbidden = 0
    return ok(faults.counters())


async def webhook(request: web.Request) -> web.Response:
    """GET /webhook: the webhook and its delivery state."""
    bot = bot_of(request)
    bot.drop_expired()
    hook = bot.webhook
    return ok(
        {
            "url": hook.url if hook else "",
            "secret_token_set": bool(hook and hook.secret_token),
            "pending_update_count": len(bot.updates),
            "last_error_date": hook.last_error_date if hook else None,
            "last_error_message": hook.last_error_message if hook else None,
            "deliveries": hook.deliveries if hook else 0,
            "failures": hook.failures if hook else 0,
            "max_connections": hook.max_connections if hook else None,
            "allowed_updates": bot.allowed_updates,
        }
    )


async def pending_updates(request: web.Request) -> web.Response:
    """GET /updates: updates not yet confirmed by the bot."""
    return ok([update.to_api() for update in bot_of(request).updates])


async def commands(request: web.Request) -> web.Response:
    """GET /commands: every command list the bot set, by scope and language."""
    return ok(
        [
            {"scope": scope, "language_code": language, "commands": items}
            for (scope, language), items in bot_of(request).commands.items()
        ]
    )


async def download(request: web.Request) -> web.Response:
    """GET /files/{file_id}: the stored bytes (no 20 MB limit here)."""
    stored = sandbox_of(request).files.get(request.match_info["file_id"])
    if stored is None:
        raise ControlError(404, "no such file")
    return web.Response(
        body=stored.path.read_bytes(),
        content_type=stored.mime_type or "application/octet-stream",
    )
