"""The worker's features, built on first use (after Celery's fork) on its clients
(tasks.clients) and its courier (tasks.delivery): the order store and fulfilment, photos, the
watcher, the staff desk, conversations and retention."""

from __future__ import annotations

from pathlib import Path

from core.conversation.store import ConversationStore
from core.orders.fulfilment import Fulfilment
from core.orders.payment import PaymentClient
from core.orders.store import OrderStore
from core.payments.store import PaymentStore
from core.photos.jobs import PhotoJobStore
from core.photos.processing import PhotoProcessing
from core.photos.slots import DecodeSlots
from core.recovery.starts import PendingStarts
from core.retention import Retention
from core.shopfloor.board import Card
from core.shopfloor.floor import ShopFloor
from core.staff.alerts import StaffAlerts
from core.staff.desk import StaffDesk
from core.watcher.alerts import Outbox
from core.watcher.index import StaleIndex
from core.watcher.watch import Watcher
from tasks.clients import bot_api, database, redis_client, settings
from tasks.delivery import courier
from tasks.forksafe import per_process


@per_process
def store() -> OrderStore:
    orders = OrderStore(database(), PendingStarts(redis_client()))
    # A group upgraded to a supergroup, learnt from a Bot API error: its orders follow it.
    courier().chat_moves.store = orders
    return orders


@per_process
def fulfilment() -> Fulfilment:
    config = settings()
    built = Fulfilment(
        store=store(),
        courier=courier(),
        payment=PaymentClient(
            config.payment_api_url,
            config.payment_timeout,
            recorded=PaymentStore(store()).payment_of,
            token=config.payment_api_token.get_secret_value(),
        ),
        step_seconds=config.step_seconds,
    )
    if config.staff_chat_id:
        # preparar_envio hands orders to the staff chat (core.shopfloor).
        floor = ShopFloor(built, config.staff_chat_id, config.staff_thread_id)
        floor.show_photos = _album_under
        built.hand_over = floor.hand_over
    return built


@per_process
def shop_floor() -> ShopFloor:
    """Order cards in the staff chat (STAFF_CHAT_ID) and what each staff move tells."""
    config = settings()
    floor = ShopFloor(fulfilment(), config.staff_chat_id or 0, config.staff_thread_id)
    floor.show_photos = _album_under
    return floor


def _album_under(card: Card) -> None:
    """The order's photos under its card (tasks.relay sends them; imported here, when a card
    is posted, since tasks.relay builds on this module)."""
    from tasks.relay import send_album

    send_album(card.order_id, card.chat_id, card.message_id)


@per_process
def photo_jobs() -> PhotoJobStore:
    return PhotoJobStore(database(), PendingStarts(redis_client()))


@per_process
def photos() -> PhotoProcessing:
    return PhotoProcessing(
        jobs=photo_jobs(),
        courier=courier(),
        api=bot_api(),
        media_dir=Path(settings().media_dir),
        decodes=DecodeSlots(settings().image_decode_slots),
    )


@per_process
def watcher() -> Watcher:
    config = settings()
    return Watcher(
        store=store(),
        index=StaleIndex(store(), redis_client()),
        messenger=courier(),
        admin_chat_ids=config.admin_chat_ids,
        stale_after=config.stale_after,
        on_stale=staff_alerts().opened,
        outbox=_watcher_outbox(),
    )


def _watcher_outbox() -> Outbox:
    """The tasks that send the watcher's alerts (imported here, as tasks.watcher builds on
    this module)."""
    from tasks.watcher import CeleryOutbox

    return CeleryOutbox()


@per_process
def staff_desk() -> StaffDesk:
    return StaffDesk(redis_client(), store())


@per_process
def staff_alerts() -> StaffAlerts:
    config = settings()
    return StaffAlerts(
        desk=staff_desk(),
        store=store(),
        sender=courier(),
        admin_chat_ids=config.admin_chat_ids,
        escalation_chat_ids=config.escalation_chat_ids,
        stale_after=config.stale_after,
        remind_after=config.escalate_after,
        repeats=config.escalate_repeats,
        snooze_for=config.snooze_for,
        staff_chat_id=config.staff_chat_id,
    )


@per_process
def conversations() -> ConversationStore:
    return ConversationStore(redis_client(), settings().conversation_timeout)


@per_process
def retention() -> Retention:
    config = settings()
    return Retention(
        photo_jobs(),
        store(),
        config.order_retention,
        config.legal_retention,
        config.media_retention,
        Path(config.media_dir),
    )
