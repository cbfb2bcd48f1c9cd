"""A synchronous Python client for the sandbox's control API (what tests talk to)."""

from sandbox.client.api import SandboxClient
from sandbox.client.chat import Chat
from sandbox.client.messages import (
    ANONYMOUS_ADMIN_ID,
    CHANNEL_BOT_ID,
    SERVICE_USER_ID,
    Media,
    Message,
    SandboxError,
)

__all__ = [
    "ANONYMOUS_ADMIN_ID",
    "CHANNEL_BOT_ID",
    "SERVICE_USER_ID",
    "Chat",
    "Media",
    "Message",
    "SandboxClient",
    "SandboxError",
]
