"""The control API under /sandbox/api: act as users, read transcripts, wait, inject faults."""

from __future__ import annotations

from aiohttp import web

from sandbox.control import acting, faults, watch, world
from sandbox.control.common import PREFIX, SANDBOX_KEY, control_errors
from sandbox.payments import control as payments

__all__ = ["PREFIX", "SANDBOX_KEY", "control_errors", "routes"]


def routes() -> list[web.RouteDef]:
    """Every control route (relative to PREFIX)."""
    p = ""
    return [
        web.get(f"{p}/info", world.info),
        web.post(f"{p}/reset", world.reset),
        web.post(f"{p}/bots", world.add_bot),
        web.post(f"{p}/config", world.set_config),
        web.post(f"{p}/clock", world.clock),
        web.get(f"{p}/users", world.list_users),
        web.post(f"{p}/users", world.upsert_user),
        web.get(f"{p}/chats", world.list_chats),
        web.post(f"{p}/chats", world.create_chat),
        web.get(f"{p}/chats/{{chat_id}}", world.get_chat),
        web.get(f"{p}/chats/{{chat_id}}/messages", world.transcript),
        web.post(f"{p}/chats/{{chat_id}}/messages", acting.send_text),
        web.post(f"{p}/chats/{{chat_id}}/messages/{{message_id}}/edit", acting.edit_text),
        web.post(f"{p}/chats/{{chat_id}}/migrate", acting.migrate),
        web.post(f"{p}/chats/{{chat_id}}/photo", acting.send_photo),
        web.post(f"{p}/chats/{{chat_id}}/document", acting.send_document),
        web.post(f"{p}/chats/{{chat_id}}/album", acting.send_album),
        web.post(f"{p}/chats/{{chat_id}}/press", acting.press),
        web.get(f"{p}/callback_queries/{{query_id}}", watch.callback_query),
        web.get(f"{p}/events", watch.stream_events),
        web.get(f"{p}/events/wait", watch.wait_events),
        web.get(f"{p}/limits", faults.get_limits),
        web.post(f"{p}/limits", faults.set_limits),
        web.get(f"{p}/faults", faults.get_faults),
        web.post(f"{p}/faults", faults.add_fault),
        web.delete(f"{p}/faults", faults.clear_faults),
        web.post(f"{p}/blocked", faults.block),
        web.delete(f"{p}/blocked/{{chat_id}}", faults.unblock),
        web.post(f"{p}/latency", faults.set_latency),
        web.get(f"{p}/counters", faults.counters),
        web.delete(f"{p}/counters", faults.reset_counters),
        web.get(f"{p}/webhook", faults.webhook),
        web.get(f"{p}/updates", faults.pending_updates),
        web.get(f"{p}/commands", faults.commands),
        web.get(f"{p}/files/{{file_id}}", faults.download),
        *payments.routes(),
    ]
