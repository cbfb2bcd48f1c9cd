"""The event log tests and the web chat follow: what happened, numbered."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

_RENDER = "_render"


class EventLog:
    """A numbered log of what happened, for long-polls and server-sent events."""

    def __init__(self, keep: int = 20000) -> None:
        self.seq = 0
        self.events: deque[dict[str, Any]] = deque(maxlen=keep)
        self._changed = asyncio.Event()

    def publish(
        self, event: dict[str, Any], message: Callable[[], dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Append an event and wake every waiter.

        `message` renders the event's message on first read: nobody may ever read it (a bot
        under load sends thousands), so the transcript is not built up front.
        """
        self.seq += 1
        event = {"seq": self.seq, "time": time.time(), **event}
        if message is not None:
            event[_RENDER] = message
        self.events.append(event)
        self._changed.set()
        self._changed = asyncio.Event()
        return event

    def since(self, seq: int, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Events after `seq`, optionally only one chat's."""
        found = []
        # Newest last: walk back from the end until `seq`, instead of over the whole log.
        for event in reversed(self.events):
            if event["seq"] <= seq:
                break
            if chat_id is None or event.get("chat_id") in (None, chat_id):
                render = event.pop(_RENDER, None)
                if render is not None:
                    event["message"] = render()
                found.append(event)
        found.reverse()
        return found

    async def wait(
        self, seq: int, timeout: float, chat_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Events after `seq`, waiting up to `timeout` seconds for one to arrive."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self.since(seq, chat_id)
            remaining = deadline - loop.time()
            if found or remaining <= 0:
                return found
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return self.since(seq, chat_id)
