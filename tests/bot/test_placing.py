"""bot.placing against a real Redis, with Telegram and Celery faked: an order or a photo job is
stored, shown, recorded and queued once; Telegram failing leaves it placed; Redis unreachable
is tried again; Redis full takes the unit back whole and says so where the customer looks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import pytest
import redis
from telegram import CallbackQuery, Message
from telegram.error import BadRequest, NetworkError

from bot.context import BotContext
from bot.placing import Confirmation, NewOrder, NewPhoto, NewUnit, Reply, place
from bot.services import Services
from core.cart.drafts import DraftStore
from core.cart.store import CartStore
from core.catalogue.store import CatalogueStore
from core.conversation.store import ConversationStore
from core.db.engine import Database
from core.orders.store import OrderStore
from core.payments.store import PaymentStore
from core.photos.jobs import PhotoJobStore
from core.quotas import Quota, Quotas
from core.recovery import starts
from core.recovery.starts import PendingStarts
from core.redisconn import ReplicaFence
from core.settings import Settings

CHAT, USER, SOURCE = 10, 7, 100
STATUS_ID = 555


class FakeServices(Services):
    """The real stores; the Celery publish replaced by a counter (failing `unreachable` times)."""

    unreachable: int = 0
    queued: list[str]

    async def enqueue_order(self, order_id: str, status_message_id: int = 0) -> str:
        # As tasks.orders.enqueue_order: the chain's first id and the status message recorded.
        task_id = self._publish(order_id)
        shown = {"status_message_id": status_message_id} if status_message_id else {}
        await self.run(self.store.set_fields, order_id, task_id=task_id, **shown)
        return task_id

    async def enqueue_photo(self, job_id: str) -> str:
        # As tasks.photos.enqueue_photo: the task id recorded on the job.
        task_id = self._publish(job_id)
        await self.run(self.photo_jobs.set_fields, job_id, task_id=task_id)
        return task_id

    def _publish(self, unit_id: str) -> str:
        if self.unreachable:
            self.unreachable -= 1
            raise redis.ConnectionError("Redis is restarting")
        self.queued.append(unit_id)
        return f"task-{len(self.queued)}"


@dataclass
class Telegram:
    """The bot's calls, and what the customer's message and the pressed button do."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail_with: Exception | None = None
    # Runs when the status message is shown (Redis filling up right then, say).
    on_show: Any = None

    async def reply_html(self, text: str, **kwargs: Any) -> Any:
        return self._call("reply", text, kwargs)

    async def edit_message_text(self, text: str, **kwargs: Any) -> Any:
        return self._call("edit", text, kwargs)

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Any:
        return self._call("send", text, {"chat_id": chat_id, **kwargs})

    def _call(self, kind: str, text: str, kwargs: dict[str, Any]) -> Any:
        self.sent.append((kind, {"text": text, **kwargs}))
        if self.on_show is not None and len(self.sent) == 1:
            self.on_show()
        if self.fail_with is not None and len(self.sent) == 1:
            raise self.fail_with
        return SimpleNamespace(message_id=STATUS_ID)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.sent]


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def svc(client: redis.Redis, sqlite_db: Database) -> FakeServices:
    store = OrderStore(sqlite_db, PendingStarts(client))
    services = FakeServices(
        settings=Settings(),
        redis=client,
        store=store,
        photo_jobs=PhotoJobStore(sqlite_db, PendingStarts(client)),
        conversations=ConversationStore(client, 60.0),
        quotas=Quotas(client, Quota("orders", 0, 60), Quota("photos", 0, 60)),
        fence=ReplicaFence(client, 0, 1.0),
        starts=PendingStarts(client),
        catalogue=CatalogueStore(sqlite_db),
        carts=CartStore(client, 60.0),
        drafts=DraftStore(client),
        payments=PaymentStore(store),
    )
    services.queued = []
    return services


@pytest.fixture
def telegram() -> Telegram:
    return Telegram()


@pytest.fixture(autouse=True)
def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NewOrder, "retry_delays", (0.0, 0.0, 0.0))
    monkeypatch.setattr(NewPhoto, "retry_delays", (0.0, 0.0, 0.0))


def context(svc: Services, telegram: Telegram) -> BotContext:
    return cast(BotContext, SimpleNamespace(services=svc, bot=telegram))


def reply(telegram: Telegram, quote: bool | None = None) -> Reply:
    return Reply(cast(Message, telegram), quote)


def new_order() -> NewOrder:
    return NewOrder(CHAT, USER, SOURCE, "es", "2 pizzas")


def new_photo(telegram: Telegram, source: int = SOURCE) -> NewPhoto:
    return NewPhoto(CHAT, USER, source, "es", cast(Message, telegram), f"file-{source}")


def new_unit(kind: str, telegram: Telegram) -> NewUnit[Any]:
    return new_order() if kind == "order" else new_photo(telegram)


async def test_an_order_is_stored_answered_recorded_and_queued_once(
    svc: FakeServices, telegram: Telegram
) -> None:
    await place(context(svc, telegram), new_order(), reply(telegram))
    # A re-delivered update: the same order, already answered and queued.
    await place(context(svc, telegram), new_order(), reply(telegram))

    [order] = svc.store.recent(CHAT, 5)
    assert order.text == "2 pizzas" and order.status_message_id == STATUS_ID
    assert svc.queued == [order.id] and order.task_id == "task-1"
    assert not waiting(svc, "order", order.id)  # queued: the sweep leaves it
    [(kind, shown)] = telegram.sent
    assert kind == "reply" and order.id in shown["text"] and shown["reply_markup"] is not None


async def test_a_photo_job_is_answered_quoted_recorded_and_queued(
    svc: FakeServices, telegram: Telegram
) -> None:
    await place(context(svc, telegram), new_photo(telegram), reply(telegram, quote=True))

    [job_id] = svc.queued
    job = svc.photo_jobs.get(job_id)
    assert job.status_message_id == STATUS_ID and job.task_id == "task-1"
    [(kind, shown)] = telegram.sent
    assert kind == "reply" and shown["do_quote"] is True and shown["reply_markup"] is None


async def test_telegram_failing_the_status_leaves_the_order_placed_and_queued(
    svc: FakeServices, telegram: Telegram
) -> None:
    telegram.fail_with = NetworkError("timed out")
    await place(context(svc, telegram), new_order(), reply(telegram))

    [order] = svc.store.recent(CHAT, 5)
    assert order.status_message_id == 0  # the first step sends it
    assert svc.queued == [order.id]


async def test_a_confirmation_that_cannot_be_edited_leaves_the_order_placed(
    svc: FakeServices, telegram: Telegram
) -> None:
    confirmation = Confirmation(cast(CallbackQuery, telegram), SOURCE)
    telegram.fail_with = BadRequest("message to edit not found")
    await place(context(svc, telegram), new_order(), confirmation)
    [order] = svc.store.recent(CHAT, 5)
    assert order.status_message_id == 0 and svc.queued == [order.id]
    assert telegram.kinds() == ["edit"]


async def test_redis_unreachable_while_queueing_is_tried_again(
    svc: FakeServices, telegram: Telegram
) -> None:
    svc.unreachable = 2
    await place(context(svc, telegram), new_order(), reply(telegram))
    [order] = svc.store.recent(CHAT, 5)
    assert svc.queued == [order.id]


async def test_redis_unreachable_for_longer_leaves_the_order_to_the_recovery_sweep(
    svc: FakeServices, telegram: Telegram
) -> None:
    svc.unreachable = 10
    await place(context(svc, telegram), new_order(), reply(telegram))
    [order] = svc.store.recent(CHAT, 5)
    assert svc.queued == [] and waiting(svc, "order", order.id)


async def test_a_photo_job_is_tried_again_too_then_left_to_the_sweep(
    client: redis.Redis, svc: FakeServices, telegram: Telegram
) -> None:
    svc.unreachable = 2
    await place(context(svc, telegram), new_photo(telegram), reply(telegram, quote=True))
    [job] = svc.photo_jobs.of_chat(CHAT)
    assert svc.queued == [job.id]

    svc.unreachable = 10
    await place(
        context(svc, telegram), new_photo(telegram, SOURCE + 1), reply(telegram, quote=True)
    )
    later = [j.id for j in svc.photo_jobs.of_chat(CHAT) if j.id != job.id]
    assert svc.queued == [job.id] and waiting(svc, "photo", later[0])


def waiting(svc: Services, kind: str, unit_id: str) -> bool:
    """The unit waits in core.recovery.starts for someone to queue it."""
    return svc.starts.redis.zscore(starts.KEY, starts.member(kind, unit_id)) is not None


def nothing_left(client: redis.Redis) -> bool:
    """Nothing of the unit is left in Redis: no guard, no pending start."""
    return list(client.scan_iter("pedidos:*")) == []


def fill_up(client: redis.Redis) -> None:
    """Redis over `maxmemory` from now on (noeviction): every write is refused, as when full."""
    client.config_set("maxmemory", 1)


@pytest.fixture(autouse=True)
def room_again(client: redis.Redis) -> Iterator[None]:
    yield
    client.config_set("maxmemory", 0)


@pytest.mark.parametrize("kind", ["order", "photo"])
async def test_redis_full_after_the_status_takes_the_unit_back_and_says_so_there(
    client: redis.Redis,
    svc: FakeServices,
    telegram: Telegram,
    kind: str,
) -> None:
    telegram.on_show = lambda: fill_up(client)
    new = new_unit(kind, telegram)
    await place(context(svc, telegram), new, reply(telegram))

    assert svc.queued == []
    assert nothing_left(client)
    assert svc.store.recent(CHAT, 5) == [] and svc.photo_jobs.of_chat(CHAT) == []
    assert telegram.kinds() == ["reply", "edit"]
    edit = telegram.sent[1][1]
    assert edit["message_id"] == STATUS_ID and "Inténtalo de nuevo" in edit["text"]


@pytest.mark.parametrize("kind", ["order", "photo"])
async def test_redis_full_without_a_status_says_so_in_the_chat(
    client: redis.Redis,
    svc: FakeServices,
    telegram: Telegram,
    kind: str,
) -> None:
    telegram.on_show = lambda: fill_up(client)
    telegram.fail_with = NetworkError("timed out")
    new = new_unit(kind, telegram)
    await place(context(svc, telegram), new, reply(telegram))

    assert nothing_left(client)
    assert svc.store.recent(CHAT, 5) == [] and svc.photo_jobs.of_chat(CHAT) == []
    # An order's refusal is a message of its own; a photo's quotes the photo.
    assert telegram.kinds() == ["reply", "send" if kind == "order" else "reply"]
    refusal = telegram.sent[1][1]
    assert "Inténtalo de nuevo" in refusal["text"]
    if kind == "photo":
        assert refusal["do_quote"] is True


async def test_the_store_down_is_said_in_reply_and_raised_to_a_press(
    svc: FakeServices, telegram: Telegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(*args: Any) -> Any:
        raise redis.ConnectionError("no Redis")

    monkeypatch.setattr(svc, "place_order", down)
    await place(context(svc, telegram), new_order(), reply(telegram))
    [(kind, said)] = telegram.sent
    assert kind == "reply" and "Inténtalo de nuevo" in said["text"]

    confirmation = Confirmation(cast(CallbackQuery, telegram), SOURCE)
    with pytest.raises(redis.ConnectionError):  # the press's answer says it failed
        await place(context(svc, telegram), new_order(), confirmation)
    assert len(telegram.sent) == 1


def closed_now() -> str:
    """SHOP_HOURS open only the day after tomorrow (UTC): closed whenever the test runs."""
    from datetime import UTC, datetime, timedelta

    from core.shophours.schedule import DAY_NAMES

    day = datetime.now(UTC).date() + timedelta(days=2)
    return f"{DAY_NAMES[day.weekday()]} 10:00-11:00"


async def test_outside_hours_a_refusing_shop_says_when_it_opens_and_stores_nothing(
    svc: FakeServices, telegram: Telegram
) -> None:
    svc.settings = Settings(shop_hours=closed_now(), outside_hours="refuse")
    confirmation = Confirmation(cast(CallbackQuery, telegram), SOURCE)
    await place(context(svc, telegram), new_order(), confirmation)
    [(kind, shown)] = telegram.sent
    assert kind == "edit" and "no toma pedidos fuera de horario" in shown["text"]
    assert "a las 10:00" in shown["text"] and shown["reply_markup"] is None
    assert svc.store.recent(CHAT, 5) == [] and svc.queued == []
    # Photos are not orders: the hours do not apply.
    await place(context(svc, telegram), new_photo(telegram), reply(telegram, quote=True))
    assert len(svc.queued) == 1


async def test_outside_hours_a_taking_shop_places_the_order_and_says_when_once(
    svc: FakeServices, telegram: Telegram
) -> None:
    svc.settings = Settings(shop_hours=closed_now())
    confirmation = Confirmation(cast(CallbackQuery, telegram), SOURCE)
    await place(context(svc, telegram), new_order(), confirmation)
    await place(context(svc, telegram), new_order(), confirmation)  # re-delivered
    [order] = svc.store.recent(CHAT, 5)
    assert svc.queued == [order.id]
    assert telegram.kinds() == ["edit", "send"]
    told = telegram.sent[1][1]
    assert told["chat_id"] == CHAT and f"Tu pedido <b>{order.id}</b> queda anotado" in told["text"]
