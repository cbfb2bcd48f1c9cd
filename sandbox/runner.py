"""Running a sandbox: in a thread of a test process, or as `python -m sandbox`."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.core import DEFAULT_TOKEN, Sandbox

if TYPE_CHECKING:
    from sandbox.client import SandboxClient
from sandbox.server import create_app


class RunningSandbox:
    """A sandbox served from a daemon thread with its own event loop."""

    def __init__(
        self,
        host: str,
        port: int,
        token: str,
        local: bool = False,
        provider_tokens: tuple[str, ...] = (),
    ) -> None:
        self.local = local
        self.provider_tokens = tuple(provider_tokens)
        self.host = host
        self.port = port
        self.token = token
        self.sandbox: Sandbox | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="tg-sandbox", daemon=True)
        self._client: SandboxClient | None = None

    @property
    def url(self) -> str:
        """The base URL (== TELEGRAM_API_URL for the bot)."""
        return f"http://{self.host}:{self.port}"

    @property
    def client(self) -> SandboxClient:
        """A SandboxClient for this sandbox."""
        from sandbox.client import SandboxClient

        if self._client is None:
            self._client = SandboxClient(self.url)
        return self._client

    def start(self) -> RunningSandbox:
        """Start serving; returns once the port listens."""
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError(f"sandbox failed to start: {self._error}") from self._error
        if not self._ready.is_set():
            raise RuntimeError("sandbox did not start within 30 s")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown())
            loop.close()

    async def _serve(self) -> None:
        self.sandbox = Sandbox(
            token=self.token, local=self.local, provider_tokens=self.provider_tokens
        )
        app = create_app(self.sandbox)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        server = site._server
        if self.port == 0 and server is not None:
            sockets = getattr(server, "sockets", None) or []
            self.port = int(sockets[0].getsockname()[1])
        self.sandbox.base_url = self.url

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self.sandbox is not None:
            self.sandbox.close()

    def stop(self) -> None:
        """Stop serving and remove the temp files."""
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        if self._client is not None:
            self._client.close()

    def call(self, func: Any, *args: Any) -> Any:
        """Run func(*args) on the sandbox's loop thread and return its result (thread-safe)."""
        assert self._loop is not None

        async def runner() -> Any:
            return func(*args)

        return asyncio.run_coroutine_threadsafe(runner(), self._loop).result(10)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_in_thread(
    port: int = 0,
    token: str = DEFAULT_TOKEN,
    host: str = "127.0.0.1",
    local: bool = False,
    provider_tokens: tuple[str, ...] = (),
) -> RunningSandbox:
    """Serve a sandbox from a daemon thread on a free port (port=0); stop() or use `with`.

    `local=True` is `python -m sandbox --local`: webhooks may be plain http on any port;
    `provider_tokens` are accepted for fiat invoices besides the default test token.
    """
    return RunningSandbox(host, port, token, local, provider_tokens).start()


@contextlib.contextmanager
def running(port: int = 0, token: str = DEFAULT_TOKEN) -> Iterator[RunningSandbox]:
    """`with running() as sb:` — a sandbox for the block."""
    sandbox = run_in_thread(port=port, token=token)
    try:
        yield sandbox
    finally:
        sandbox.stop()


def parse_group(spec: str) -> tuple[int, str, set[int]]:
    """`ID=TITLE[=ADMIN,ADMIN…]` (a supergroup the sandbox starts with, and who administers
    it): e.g. `-1009000000001=Tienda (equipo)=1001`."""
    parts = spec.split("=")
    if len(parts) not in (2, 3) or not parts[1].strip():
        raise ValueError(f"a group is ID=TITLE[=ADMIN,…], not {spec!r}")
    chat_id = int(parts[0])
    if chat_id >= 0:
        raise ValueError(f"a group's id is negative, not {chat_id}")
    admins = {int(a) for a in parts[2].split(",") if a.strip()} if len(parts) == 3 else set()
    return chat_id, parts[1].strip(), admins


def add_groups(sandbox: Sandbox, specs: tuple[str, ...]) -> None:
    """The groups the sandbox starts with (`make run`'s staff group), in the primary bot."""
    for spec in specs:
        chat_id, title, admins = parse_group(spec)
        chat = sandbox.ensure_chat(sandbox.primary, chat_id, title=title, chat_type="supergroup")
        for admin in admins:  # known from the start (the web chat names them when they open it)
            sandbox.users.get(admin) or sandbox.upsert_user({"id": admin})
        chat.administrators = admins


async def serve(
    host: str,
    port: int,
    token: str,
    local: bool = False,
    provider_tokens: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
) -> None:
    """Serve until cancelled (python -m sandbox)."""
    sandbox = Sandbox(token=token, local=local, provider_tokens=provider_tokens)
    add_groups(sandbox, groups)
    app = create_app(sandbox)
    runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    sandbox.base_url = f"http://{shown_host}:{port}"
    # A real token passed through $TELEGRAM_BOT_TOKEN must not end up in a terminal log.
    shown = token if token == DEFAULT_TOKEN else token.split(":", 1)[0] + ":…"
    print(f"Telegram Bot API sandbox for bot token {shown}", flush=True)
    print(f"  Bot API base URL:  {sandbox.base_url}   (TELEGRAM_API_URL)", flush=True)
    print(f"  Bot API methods:   {sandbox.base_url}/bot<token>/<method>", flush=True)
    print(f"  Web chat:          {sandbox.base_url}/", flush=True)
    print(f"  Control API:       {sandbox.base_url}/sandbox/api/info", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        sandbox.close()
