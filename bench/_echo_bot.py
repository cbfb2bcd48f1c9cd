"""A bare python-telegram-bot echo bot: bench.first_reply's floor (polling, PTB, the sandbox).

Run as `python -m bench._echo_bot` with ECHO_TOKEN and ECHO_API_URL set; it answers every
text with the same text, 32 updates at a time (as many as the shop bot's handler slots), and
polls as `python -m bot` does (PTB's defaults: no pause between polls, 10 s long-polls).
"""

from __future__ import annotations

import logging
import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.message is not None and update.message.text:
        await update.message.reply_text(update.message.text)


async def _ready(_app: object) -> None:
    logging.getLogger("echo").warning("echo bot ready")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    api = os.environ["ECHO_API_URL"].rstrip("/")
    app = (
        ApplicationBuilder()
        .token(os.environ["ECHO_TOKEN"])
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .concurrent_updates(32)
        .post_init(_ready)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
