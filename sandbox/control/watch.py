"""Watching: a press's answer, and the event log as a long-poll or server-sent events."""

from __future__ import annotations

import asyncio

from aiohttp import web

from sandbox import presses
from sandbox.control.common import (
    as_int,
    bot_of,
    dumps,
    ok,
    sandbox_of,
)
from sandbox.core import ControlError


async def callback_query(request: web.Request) -> web.Response:
    """GET /callback_queries/{id}?timeout=: the bot's answer, waiting for it."""
    bot = bot_of(request)
    query = bot.callback_queries.get(request.match_info["query_id"])
    if query is None:
        raise ControlError(404, "no such callback query")
    timeout = float(request.query.get("timeout", "0"))
    await presses.wait_answer(query, min(timeout, 60.0))
    return ok(
        {
            "id": query.id,
            "chat_id": query.chat_id,
            "message_id": query.message_id,
            "data": query.data,
            "answered": query.answered,
            "answer": query.answer,
        }
    )


def _chat_filter(request: web.Request) -> int | None:
    value = request.query.get("chat_id")
    return None if value in (None, "") else as_int(value, "chat_id")


async def wait_events(request: web.Request) -> web.Response:
    """GET /events/wait?since=&chat_id=&timeout=: long-poll for what happens next."""
    sb = sandbox_of(request)
    since = as_int(request.query.get("since", sb.events.seq), "since")
    timeout = min(float(request.query.get("timeout", "10")), 60.0)
    events = await sb.events.wait(since, timeout, _chat_filter(request))
    return ok({"seq": sb.events.seq, "events": events})


async def stream_events(request: web.Request) -> web.StreamResponse:
    """GET /events: server-sent events (optionally ?chat_id=, resumable with Last-Event-ID)."""
    sb = sandbox_of(request)
    chat_id = _chat_filter(request)
    since_raw = request.headers.get("Last-Event-ID") or request.query.get("since")
    seq = as_int(since_raw, "since") if since_raw else sb.events.seq
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    try:
        await response.write(f"retry: 1000\n: seq {sb.events.seq}\n\n".encode())
        while True:
            events = await sb.events.wait(seq, 15.0, chat_id)
            if not events:
                await response.write(b": ping\n\n")
                continue
            for event in events:
                seq = event["seq"]
                data = dumps(event)
                await response.write(
                    f"id: {seq}\nevent: {event['type']}\ndata: {data}\n\n".encode()
                )
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response
