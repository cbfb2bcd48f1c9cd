"""Webhook mode end to end: the sandbox delivers updates over HTTP with the secret header; the
bot refuses any request without the right secret; replicas behind a load balancer share the
work without duplicates; /healthz and `python -m bot.health` tell whether a bot is alive."""

from __future__ import annotations

import itertools
import secrets
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from aiohttp import ClientSession, web

from sandbox import RunningSandbox, run_in_thread
from sandbox.client import SandboxClient
from tests.e2e.test_orders import completed, is_status, order_id_of
from tests.support.processes import ROOT, Process, free_port, wait_until
from tests.support.system import System, local_argv, running_system
from tests.support.webserver import ThreadedServer

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET = secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[RunningSandbox]:
    """The sandbox in `--local` mode (like `telegram-bot-api --local`): the bots here listen on
    plain http on random ports, which the cloud Bot API would refuse."""
    with run_in_thread(port=0, local=True) as running:
        yield running


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    """Redis and one worker; each test starts the webhook bots it needs."""
    tmp = tmp_path_factory.mktemp("webhook")
    with running_system(tmp, sandbox_server.url, sandbox_server.token) as running:
        # A refused delivery is retried soon, so a test sees the retry succeed quickly.
        running.sandbox.configure(webhook_retry_delay=0.2, webhook_retry_max=0.5)
        running.start_worker()
        yield running


def webhook_env(port: int, url: str | None = None, secret: str = SECRET) -> dict[str, str]:
    return {
        "WEBHOOK_URL": url or f"http://127.0.0.1:{port}/telegram/webhook",
        "WEBHOOK_SECRET": secret,
        "WEBHOOK_LISTEN": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
    }


def start_webhook_bot(system: System, url: str | None = None) -> tuple[Process, str]:
    """A bot in webhook mode; (process, its own base URL)."""
    port = free_port()
    process = system.start_bot(ready="webhook set", **webhook_env(port, url))
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def webhook_bot(system: System) -> tuple[Process, str]:
    return start_webhook_bot(system)


def point_webhook(system: System, url: str, secret: str | None) -> None:
    """Set the bot's webhook at the sandbox, as `setWebhook` would (secret None: no header)."""
    params = {"url": url, **({"secret_token": secret} if secret is not None else {})}
    token = system.env["TELEGRAM_BOT_TOKEN"]
    while True:
        answer = requests.post(
            f"{system.sandbox.url}/bot{token}/setWebhook", json=params, timeout=10
        ).json()
        if answer.get("error_code") != 429:
            break
        # One setWebhook a second per bot: wait as Telegram says, like any client.
        time.sleep(answer["parameters"]["retry_after"])  # the wait Telegram asks for
    assert answer["ok"], answer


def orders_of(system: System, chat_id: int) -> list[str]:
    store = system.store
    return [order.id for order in store.recent(chat_id, 50)]


def forged_update(chat_id: int, update_id: int) -> dict[str, object]:
    text = "/pedido pizza gratis"
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Eve"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Eve"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len("/pedido")}],
        },
    }


def run_health_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The container healthcheck, `python -m bot.health`, with this environment."""
    argv = local_argv(("python", "-m", "bot.health"))
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, cwd=ROOT)


def test_updates_arrive_over_the_webhook_and_the_order_completes(
    system: System, webhook_bot: tuple[Process, str]
) -> None:
    _bot, base = webhook_bot
    point_webhook(system, f"{base}/telegram/webhook", SECRET)
    calls_before = system.sandbox.counters()["calls"].get("getUpdates", 0)
    chat = system.private_chat()

    chat.send("/pedido 2 pizzas por webhook")

    done = chat.wait_for(completed, timeout=30)
    status = chat.wait_for(lambda m: is_status(m) and "100%" in (m.text or ""))
    assert order_id_of(status) in (done.text or "")
    info = system.sandbox.webhook_info()
    assert info["url"] == f"{base}/telegram/webhook" and info["secret_token_set"]
    assert info["deliveries"] >= 1 and info["pending_update_count"] == 0
    # Webhook mode never polls.
    assert system.sandbox.counters()["calls"].get("getUpdates", 0) == calls_before
    health = requests.get(f"{base}/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["redis"] is True


@pytest.mark.parametrize(
    "secret",
    [None, "not-the-secret", SECRET[:-1], SECRET + "x"],
    ids=["missing", "other", "prefix", "longer"],
)
def test_a_post_without_the_right_secret_gets_403_and_enqueues_nothing(
    system: System, webhook_bot: tuple[Process, str], secret: str | None
) -> None:
    bot, base = webhook_bot
    chat = system.private_chat()
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    update = forged_update(chat.chat_id, 900_000 + chat.chat_id % 1000)

    answer = requests.post(f"{base}/telegram/webhook", json=update, headers=headers, timeout=10)

    assert answer.status_code == 403
    refused = "no secret token" if secret is None else "wrong secret token"
    wait_until(lambda: refused in bot.log(), 10, "the refusal in the bot's log")
    assert orders_of(system, chat.chat_id) == []
    assert chat.bot_messages() == []
    # The same request with the right secret is served: the refusal was the secret alone.
    answer = requests.post(
        f"{base}/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET}, timeout=10
    )
    assert answer.status_code == 200
    assert len(orders_of(system, chat.chat_id)) == 1


def test_sandbox_delivery_with_a_wrong_or_missing_secret_is_refused_then_resumes(
    system: System, webhook_bot: tuple[Process, str]
) -> None:
    _bot, base = webhook_bot
    chat = system.private_chat()
    for wrong in ("wrong-secret", None):
        point_webhook(system, f"{base}/telegram/webhook", wrong)
        failures_before = int(system.sandbox.webhook_info()["failures"])
        chat.send(f"/pedido intento con secreto {wrong}")

        def refused_twice(before: int = failures_before) -> bool:
            return int(system.sandbox.webhook_info()["failures"]) >= before + 2

        wait_until(refused_twice, 15, "the sandbox to see its deliveries refused")
        info = system.sandbox.webhook_info()
        assert "403" in (info["last_error_message"] or "")
        assert info["pending_update_count"] >= 1
        assert orders_of(system, chat.chat_id) == []
        assert chat.bot_messages() == []

    # The right secret again: the held updates arrive, each once, in order.
    point_webhook(system, f"{base}/telegram/webhook", SECRET)
    finals = chat.wait_for_count(completed, 2, timeout=30)
    assert len(finals) == 2
    assert len(orders_of(system, chat.chat_id)) == 2
    assert sum(1 for m in chat.bot_messages() if is_status(m)) == 2


class RoundRobin:
    """A load balancer: each POST goes to the next replica. An update whose text contains
    `mirror` goes to the other replica as well, as when Telegram re-delivers an update whose
    first delivery timed out."""

    def __init__(self, backends: list[str], mirror: str) -> None:
        self.backends = backends
        self.mirror = mirror
        self.turn = itertools.count()
        self.answered: list[list[int]] = [[] for _ in backends]
        self.app = web.Application()
        self.app.router.add_route("*", "/{path:.*}", self.forward)

    async def _send(self, index: int, request: web.Request, body: bytes) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with (
            ClientSession() as session,
            session.request(
                request.method, self.backends[index] + request.path_qs, data=body, headers=headers
            ) as answer,
        ):
            self.answered[index].append(answer.status)
            return web.Response(status=answer.status, body=await answer.read())

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        index = next(self.turn) % len(self.backends)
        answer = await self._send(index, request, body)
        if self.mirror.encode() in body:
            await self._send((index + 1) % len(self.backends), request, body)
        return answer


def test_two_replicas_behind_a_load_balancer_serve_every_order_once(system: System) -> None:
    # Given two bot replicas behind one webhook URL (a round-robin load balancer)
    ports = [free_port(), free_port()]
    balancer = RoundRobin([f"http://127.0.0.1:{port}" for port in ports], mirror="dos veces")
    with ThreadedServer(balancer.app) as server:
        public_url = f"{server.url}/telegram/webhook"
        # started together, as a deploy does: both call setWebhook within the second, and
        # the one Telegram answers 429 waits its turn (bot.webhook.set_webhook).
        with ThreadPoolExecutor(len(ports)) as pool:
            replicas = list(
                pool.map(
                    lambda port: system.start_bot(
                        ready="webhook set", **webhook_env(port, url=public_url)
                    ),
                    ports,
                )
            )
        assert system.sandbox.webhook_info()["url"] == public_url
        chats = [system.private_chat() for _ in range(6)]

        # When six customers order, the first update reaching both replicas
        chats[0].send("/pedido pedido entregado dos veces")
        for chat in chats[1:]:
            chat.send(f"/pedido pizza para {chat.chat_id}")
        for chat in chats:
            chat.wait_for(completed, timeout=45)

        # Then both replicas served, and every chat has one order, one status, one "done"
        assert all(len(codes) >= 3 for codes in balancer.answered), balancer.answered
        assert {code for codes in balancer.answered for code in codes} == {200}
        for chat in chats:
            assert len(orders_of(system, chat.chat_id)) == 1
            bot_messages = chat.bot_messages()
            assert sum(1 for m in bot_messages if is_status(m)) == 1, bot_messages
            assert sum(1 for m in bot_messages if completed(m)) == 1, bot_messages
        for replica in replicas:
            replica.stop()


def test_bot_health_reports_a_live_webhook_bot_and_a_stopped_one(system: System) -> None:
    port = free_port()
    env = {**system.env, **webhook_env(port)}
    bot = system.start_bot(ready="webhook set", **webhook_env(port))
    check = run_health_check(env)
    assert check.returncode == 0, check.stdout + check.stderr
    bot.stop()
    check = run_health_check(env)
    assert check.returncode == 1 and "healthz" in check.stdout


def test_a_polling_bot_keeps_a_heartbeat_that_bot_health_checks(
    system: System, sandbox_server: RunningSandbox
) -> None:
    # A second bot token: polling it does not take the webhook bot's updates away.
    token = f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(27)}"
    other = SandboxClient(sandbox_server.url).add_bot(token)
    heartbeat = system.tmp / "polling.heartbeat"
    env = {"TELEGRAM_BOT_TOKEN": token, "HEARTBEAT_FILE": str(heartbeat)}
    env["HEARTBEAT_INTERVAL"] = "1s"
    bot = system.start_bot(**env)
    wait_until(heartbeat.exists, 10, "the first heartbeat")
    check_env = {**system.env, **env}
    check = run_health_check(check_env)
    assert check.returncode == 0, check.stdout
    chat = other.private_chat(user_id=system.new_chat_id(), first_name="Polly")
    chat.send("/ayuda")
    chat.wait_for(lambda m: "/pedido" in (m.text or ""), timeout=15)

    bot.stop()
    assert not heartbeat.exists()
    check = run_health_check(check_env)
    assert check.returncode == 1 and "no heartbeat" in check.stdout
