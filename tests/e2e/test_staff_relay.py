"""The shop's staff and a customer through an order, end to end with a staff group and a
customer's private chat in the sandbox: messages both ways (text and photo), a quote priced by
the staff (a bad amount first), photos attached to an open order and posted as an album."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import func, select

from core.catalogue import parse_catalogue
from core.catalogue.store import CatalogueStore
from core.db.models import OrderEvent
from core.db.relay import OrderMessageRow
from core.orders.states import OrderState
from core.relay.photos import OrderPhotos
from core.relay.sending import send_album
from core.settings import Settings
from core.telegram.client import BotApi
from core.telegram.courier import Courier
from core.telegram.rate_limiter import Limits, RateLimiter
from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from sandbox.payments import DEFAULT_PROVIDER_TOKEN
from tests.support.chat import ROOMY_LIMITS, ROOMY_SANDBOX_LIMITS, restart_bot
from tests.support.processes import ROOT, wait_until
from tests.support.system import System, running_system

DEMO = ROOT / "demo"
STAFF_CHAT = -100_000_000_000 - random.randrange(1_000, 9_000)
EVA, LUIS, INTRUDER = 7_100_001, 7_100_002, 7_100_003
JOB = "reparar la pantalla de un movil"


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("relay")
    with running_system(
        tmp,
        sandbox_server.url,
        sandbox_server.token,
        CATALOG_FILE=str(DEMO / "catalogue.csv"),
        PAYMENT_METHODS="telegram,cash",
        PAYMENT_PROVIDER_TOKEN=DEFAULT_PROVIDER_TOKEN,
        STAFF_CHAT_ID=str(STAFF_CHAT),
        STAFF_USER_IDS=f"{EVA},{LUIS}",
        **ROOMY_LIMITS,
    ) as running:
        running.sandbox.set_limits(
            chat_per_second=ROOMY_SANDBOX_LIMITS["chat_per_second"],
            chat_burst=int(ROOMY_SANDBOX_LIMITS["chat_burst"]),
            group_per_minute=ROOMY_SANDBOX_LIMITS["group_per_minute"],
        )
        demo = parse_catalogue((DEMO / "catalogue.csv").read_bytes(), default_currency="EUR")
        CatalogueStore(running.db).replace_all(demo)
        with running.starting():
            running.start_worker(concurrency=2)
            running.start_bot()
        yield running


@pytest.fixture(scope="module")
def staff(system: System) -> Chat:
    """The staff group, as Eva (staff)."""
    return system.sandbox.group_chat(
        STAFF_CHAT, title="Tienda", user_id=EVA, first_name="Eva", type="supergroup"
    )


def content(message: Message) -> str:
    return message.text or message.caption or ""


def requested(system: System, staff: Chat, first_name: str) -> tuple[Chat, str, Message]:
    """A customer's /pedido that matches no product: their chat, the order id, its card."""
    customer = system.private_chat(first_name=first_name)
    sent = customer.send(f"/pedido {JOB}")
    status = customer.wait_for(
        lambda m: "la tienda te enviará" in content(m), after=sent.message_id
    )
    order_id = next(w for w in content(status).split() if w.startswith("P-"))[:8]
    card = staff.wait_for(
        lambda m: "Petición de presupuesto" in content(m) and order_id in content(m)
    )
    return customer, order_id, card


def test_a_quote_priced_by_the_staff_reaches_the_customer_with_its_invoice(
    system: System, staff: Chat
) -> None:
    customer, order_id, card = requested(system, staff, "Ana")
    assert system.store.get(order_id).state is OrderState.POR_COTIZAR
    assert "💶 Cotizar" in card.button_texts
    staff.callback_answer(staff.press("💶 Cotizar", message_id=card.message_id))
    question = staff.wait_for(
        lambda m: "Importe del pedido" in content(m) and order_id in content(m)
    )

    bad = staff.send("doce euros", reply_to=question.message_id)
    staff.wait_for(lambda m: "Importe no válido" in content(m), after=bad.message_id)
    assert system.store.get(order_id).state is OrderState.POR_COTIZAR

    good = staff.send("12,50", reply_to=question.message_id)
    staff.wait_for(lambda m: "presupuestado en 12,50" in content(m), after=good.message_id)
    summary = customer.wait_for(lambda m: "ha presupuestado tu pedido" in content(m))
    assert "12,50" in content(summary) and JOB in content(summary)
    invoice = customer.wait_for(lambda m: m.invoice is not None)
    assert invoice.invoice is not None and invoice.invoice["total_amount"] == 1250

    # A second answer, by another staff member, changes nothing.
    late = staff.as_user(LUIS, first_name="Luis").send("13", reply_to=card.message_id)
    staff.wait_for(lambda m: "ya estaba presupuestado" in content(m), after=late.message_id)
    order = system.store.get(order_id)
    assert order.state is OrderState.AWAITING_PAYMENT
    assert (order.total, order.currency, order.payment_method) == (1250, "EUR", "telegram")
    assert [ln.line_total for ln in system.store.lines(order_id)] == [1250]
    assert len([m for m in customer.bot_messages() if m.invoice is not None]) == 1


def test_messages_go_both_ways_with_text_and_photos(
    system: System, staff: Chat, photos_dir: Path
) -> None:
    customer, order_id, card = requested(system, staff, "Bea")
    status = customer.wait_for(lambda m: "la tienda te enviará" in content(m))

    asked = customer.send("¿Cuánto tardáis?", reply_to=status.message_id)
    customer.wait_for(lambda m: "Mensaje enviado a la tienda" in content(m), after=asked.message_id)
    relayed = staff.wait_for(lambda m: "¿Cuánto tardáis?" in content(m))
    assert "Bea" in content(relayed) and order_id in content(relayed)
    assert relayed.reply_to_message_id == card.message_id

    answer = staff.send("Dos días", reply_to=relayed.message_id)
    staff.wait_for(lambda m: "Enviado al cliente" in content(m), after=answer.message_id)
    shop = customer.wait_for(lambda m: "🏪 La tienda: Dos días" in content(m))
    photo = staff.send_photo(
        photos_dir / "Landscape_1.jpg", "Así quedará", reply_to=card.message_id
    )
    staff.wait_for(lambda m: "Enviado al cliente" in content(m), after=photo.message_id)
    shown = customer.wait_for(lambda m: bool(m.media) and "La tienda: Así quedará" in content(m))

    back = customer.send_photo(photos_dir / "Landscape_2.jpg", "la mía", reply_to=shop.message_id)
    customer.wait_for(lambda m: "Mensaje enviado a la tienda" in content(m), after=back.message_id)
    staff.wait_for(lambda m: bool(m.media) and "la mía" in content(m) and order_id in content(m))

    # Each message reached the other side once, and each is in the order's history.
    assert len([m for m in customer.bot_messages() if "Dos días" in content(m)]) == 1
    assert shown.media
    with system.db.reading() as session:
        logged = session.scalar(select(func.count()).where(OrderMessageRow.order_id == order_id))
        notes = session.scalars(
            select(OrderEvent.note).where(OrderEvent.order_id == order_id)
        ).all()
    assert logged == 4
    assert sum("mensaje de" in note for note in notes) == 4


def test_only_the_customer_and_the_staff_may_write(system: System, staff: Chat) -> None:
    customer, order_id, _card = requested(system, staff, "Carla")
    stranger = system.private_chat(first_name="Dani")
    tried = stranger.send(f"/mensaje {order_id} hola")
    stranger.wait_for(
        lambda m: "No encuentro ningún pedido tuyo" in content(m), after=tried.message_id
    )
    sent = customer.send(f"/mensaje {order_id} ¿Hay novedades?")
    customer.wait_for(lambda m: "Mensaje enviado a la tienda" in content(m), after=sent.message_id)
    relayed = staff.wait_for(lambda m: "¿Hay novedades?" in content(m))
    intruder = staff.as_user(INTRUDER, first_name="Intruso")
    nosy = intruder.send("hola cliente", reply_to=relayed.message_id)
    staff.wait_for(lambda m: "Solo el equipo" in content(m), after=nosy.message_id)
    assert not [m for m in customer.bot_messages() if "hola cliente" in content(m)]


def test_photos_are_attached_to_the_open_order_and_posted_as_an_album(
    system: System, staff: Chat, photos_dir: Path
) -> None:
    customer, order_id, card = requested(system, staff, "Elena")
    for name in ("Landscape_3.jpg", "Landscape_4.jpg"):
        sent = customer.send_photo(photos_dir / name)
        customer.wait_for(lambda m: "Foto añadida al pedido" in content(m), after=sent.message_id)
    photos = OrderPhotos(system.db)
    # The originals are kept in the order's folder under MEDIA_DIR.
    media = Path(system.env["MEDIA_DIR"])
    wait_until(
        lambda: (
            all(p.path and (media / p.path).is_file() for p in photos.of_order(order_id))
            and len(photos.of_order(order_id)) == 2
        ),
        30,
        "originals kept",
    )
    assert all(f"pedidos/{order_id}/" in p.path for p in photos.of_order(order_id))
    under_card = staff.wait_for_count(
        lambda m: bool(m.media) and m.reply_to_message_id == card.message_id, n=2
    )
    assert len(under_card) == 2

    # The album the order card shows: one sendMediaGroup under the card.
    client = redis_lib.Redis.from_url(system.env["REDIS_URL"])
    # The system's own flood limits (the buckets are shared with the bot and the workers).
    limits = Limits.from_settings(Settings.from_env(system.env))
    api = BotApi(system.env["TELEGRAM_API_URL"], system.env["TELEGRAM_BOT_TOKEN"])
    courier = Courier(api, client, RateLimiter(client, limits))
    first = send_album(courier, photos.of_order(order_id), order_id, STAFF_CHAT, card.message_id)
    assert len(first) == 1
    album = staff.wait_for_count(
        lambda m: m.media_group_id is not None and m.message_id >= first[0], n=2
    )
    assert {m.reply_to_message_id for m in album} == {card.message_id}
    assert (
        send_album(courier, photos.of_order(order_id), order_id, STAFF_CHAT, card.message_id)
        == first
    )
    client.close()


def test_a_photo_with_pedido_as_caption_opens_a_quote_carrying_it(
    system: System, staff: Chat, photos_dir: Path
) -> None:
    customer = system.private_chat(first_name="Fran")
    sent = customer.send_photo(photos_dir / "Portrait_1.jpg", "/pedido imprimir este cartel en A2")
    status = customer.wait_for(
        lambda m: "la tienda te enviará" in content(m), after=sent.message_id
    )
    order_id = next(w for w in content(status).split() if w.startswith("P-"))[:8]
    card = staff.wait_for(
        lambda m: "imprimir este cartel en A2" in content(m) and order_id in content(m)
    )
    staff.wait_for(lambda m: bool(m.media) and m.reply_to_message_id == card.message_id)
    assert [p.order_id for p in OrderPhotos(system.db).of_order(order_id)] == [order_id]
    # Not a photo job: no renditions album came back to the customer.
    assert not [m for m in customer.bot_messages() if m.media_group_id is not None]


def test_without_card_payments_a_priced_quote_starts_its_chain(system: System, staff: Chat) -> None:
    restart_bot(system, PAYMENT_METHODS="")
    customer, order_id, card = requested(system, staff, "Gema")
    answer = staff.send("8", reply_to=card.message_id)
    staff.wait_for(lambda m: "el pedido empieza" in content(m), after=answer.message_id)
    summary = customer.wait_for(lambda m: "ha presupuestado tu pedido" in content(m))
    assert "8,00" in content(summary) and "Empezamos" in content(summary)
    # Its chain runs up to the people: the order's card in the staff chat, waiting for them.
    customer.wait_for(lambda m: order_id in content(m) and "esperando a la tienda" in content(m))
    staff.wait_for(lambda m: order_id in content(m) and "Aceptar" in str(m.buttons), timeout=30)
    assert not [m for m in customer.bot_messages() if m.invoice is not None]
    order = system.store.get(order_id)
    assert (order.state, order.total, order.payment_method) == (OrderState.POR_ACEPTAR, 800, "")
