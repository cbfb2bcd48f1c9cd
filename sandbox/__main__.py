"""`python -m sandbox --port 8081`: serve the Bot API emulator and the web chat page."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os

from sandbox.core import DEFAULT_TOKEN
from sandbox.server import serve


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8081, help="TCP port (default 8081)")
    parser.add_argument(
        "--token",
        default=os.environ.get("TELEGRAM_BOT_TOKEN") or DEFAULT_TOKEN,
        help="the bot token the sandbox accepts (default: $TELEGRAM_BOT_TOKEN or the sandbox's)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.token))


if __name__ == "__main__":
    main()
