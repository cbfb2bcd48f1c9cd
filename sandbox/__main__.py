"""`python -m sandbox --port 8081`: serve the Bot API emulator and the web chat page."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal

from sandbox.core import DEFAULT_TOKEN
from sandbox.runner import serve


async def _run(
    host: str,
    port: int,
    token: str,
    local: bool,
    providers: tuple[str, ...],
    groups: tuple[str, ...],
) -> None:
    # SIGTERM (honcho, docker stop) ends like Ctrl-C, so the temp dir of uploads is removed.
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await serve(host, port, token, local, providers, groups)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8081, help="TCP port (default 8081)")
    parser.add_argument(
        "--token",
        default=os.environ.get("TELEGRAM_BOT_TOKEN") or DEFAULT_TOKEN,
        help="the bot token the sandbox accepts (default: $TELEGRAM_BOT_TOKEN or the sandbox's)",
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="like telegram-bot-api --local: allow http webhooks on any port",
    )
    parser.add_argument(
        "--provider-token",
        action="append",
        default=[t for t in [os.environ.get("PAYMENT_PROVIDER_TOKEN")] if t],
        help="a payment provider token to accept for fiat invoices, besides the default test "
        "one (repeatable; default: $PAYMENT_PROVIDER_TOKEN)",
    )
    parser.add_argument(
        "--group",
        action="append",
        default=[g for g in os.environ.get("SANDBOX_GROUPS", "").split(";") if g.strip()],
        help="a supergroup to start with, ID=TITLE[=ADMIN,…] (repeatable; default: "
        "$SANDBOX_GROUPS, ';'-separated): make run's staff group",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    providers = tuple(args.provider_token)
    groups = tuple(args.group)
    asyncio.run(_run(args.host, args.port, args.token, args.local, providers, groups))


if __name__ == "__main__":
    main()
