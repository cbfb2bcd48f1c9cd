"""Every call a worker makes to Telegram is in the shared flood limits, and an upgraded group
is followed: the Courier against the sandbox and a real redis-server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from core.chats import ChatMoves
from core.db.engine import Database
from core.orders.store import OrderStore
from core.telegram.client import BotApi
from core.telegram.courier import Courier
from core.telegram.limited_calls import Throttled
from core.telegram.rate_limiter import Limits, RateLimiter
from sandbox.client import SandboxClient
from tests.support.sandbox import sandbox, sandbox_server  # noqa: F401


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url, decode_responses=True)
    yield connection
    connection.close()


def test_taking_a_timed_out_questions_buttons_away_waits_for_a_slot(
    sandbox: SandboxClient,  # noqa: F811
    client: redis.Redis,
) -> None:
    """cerrar_conversacion's keyboard edit counts against the chat's limit like any send."""
    chat = sandbox.private_chat(user_id=401)
    tight = Limits(chat_per_second=0.01, chat_burst=1)  # one message, then a long wait
    courier = Courier(BotApi(sandbox.api_url, sandbox.token), client, RateLimiter(client, tight))
    question = courier.send(
        401,
        "¿Qué quieres?",
        key="q:401",
        reply_markup={"inline_keyboard": [[{"text": "Cancelar", "callback_data": "x"}]]},
    )
    assert question is not None

    with pytest.raises(Throttled):
        courier.remove_buttons(401, question)

    assert sandbox.counters()["calls"].get("editMessageReplyMarkup", 0) == 0
    assert chat.bot_messages()[0].buttons == [["Cancelar"]]


def test_a_send_to_an_upgraded_group_reaches_the_supergroup_and_moves_its_orders(
    sandbox: SandboxClient,  # noqa: F811
    client: redis.Redis,
    sqlite_db: Database,
) -> None:
    group = sandbox.group_chat(-4_401, title="Amigos", user_id=402)
    store = OrderStore(sqlite_db)
    order, _ = store.create(-4_401, 402, "paella", source_message_id=1)
    roomy = Limits(chat_per_second=100, chat_burst=100, group_per_minute=6000, group_burst=100)
    courier = Courier(BotApi(sandbox.api_url, sandbox.token), client, RateLimiter(client, roomy))
    courier.chat_moves.store = store  # as tasks.context wires it
    status = courier.send(-4_401, "estado", key="s:4401")
    assert status is not None
    supergroup = group.migrate_to_supergroup(-100_000_004_401)

    courier.send(-4_401, "completado", key="c:4401")
    shown = courier.edit(-4_401, status, "estado nuevo", key="e:4401")

    assert [m.text for m in supergroup.bot_messages()] == ["completado", "estado nuevo"]
    assert shown == supergroup.bot_messages()[1].message_id
    assert store.get(order.id).chat_id == -100_000_004_401
    assert [o.id for o in store.recent(-100_000_004_401)] == [order.id]
    assert ChatMoves(client).current(-4_401) == -100_000_004_401
    # The old group got nothing after its upgrade.
    assert [m.text for m in group.bot_messages()] == ["estado"]
