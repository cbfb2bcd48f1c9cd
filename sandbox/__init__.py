"""Local Telegram Bot API emulator with a control API, a Python client and a web chat page."""

from sandbox.core import DEFAULT_TOKEN
from sandbox.runner import RunningSandbox, run_in_thread

__all__ = ["DEFAULT_TOKEN", "RunningSandbox", "run_in_thread"]
