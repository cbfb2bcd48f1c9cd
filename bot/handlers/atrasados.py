"""/atrasados (alias /stale): the orders stale right now, for admins only."""

from __future__ import annotations

import time

from bot.context import BotContext, Incoming, on_message
from bot.handlers.common import admin_or_refuse
from core.watcher.index import StaleIndex
from core.watcher.watch import stale_list


@on_message
async def atrasados(incoming: Incoming, context: BotContext) -> None:
    """List the stale orders to an admin; anyone else gets a short refusal and no list."""
    if not await admin_or_refuse(incoming, context, "watcher.admins_only"):
        return
    svc = context.services
    stale = await svc.run(
        stale_list,
        StaleIndex(svc.store, svc.redis),
        svc.settings.stale_after,
        time.time(),
        incoming.lang,
    )
    await incoming.message.reply_html(stale)
