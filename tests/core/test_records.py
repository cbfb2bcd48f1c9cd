"""Orders and photo jobs to and from Redis hashes through the one codec."""

from __future__ import annotations

from core import records
from core.orders.model import Order
from core.orders.states import OrderState
from core.photos.jobs import PhotoJob, PhotoState


def test_an_order_survives_the_round_trip_with_its_extra_fields() -> None:
    order = Order(
        id="P-7K2Q4F",
        chat_id=-100123,
        user_id=42,
        text="2 pizzas <b>",
        state=OrderState.PREPARANDO_ENVIO,
        step=2,
        progress=33,
        created_at=1795489630.25,
        status_message_id=9,
        task_ids="a,b,c",
        language="en",
        extra={"alerted_at": "1795489700.5"},
    )
    flat = order.to_redis()
    assert flat["state"] == "preparando_envio" and flat["chat_id"] == "-100123"
    assert flat["x:alerted_at"] == "1795489700.5" and "extra" not in flat
    assert all(isinstance(value, str) for value in flat.values())
    assert Order.from_redis(flat) == order


def test_fields_missing_from_an_older_hash_read_as_their_defaults() -> None:
    order = Order.from_redis({"id": "P-AAAAAA", "chat_id": "1", "user_id": "2", "text": "x"})
    assert order.state is OrderState.PENDIENTE
    assert (order.step, order.progress, order.finished_at, order.language) == (0, 0, 0.0, "es")
    assert order.extra == {}


def test_a_photo_job_survives_the_round_trip() -> None:
    """As the Redis photo job store wrote its hashes, and the upgrade reads them
    (core.photos.from_redis)."""
    job = PhotoJob(
        id="F-7K2Q4F",
        chat_id=5,
        user_id=5,
        file_id="AgAD-xyz",
        state=PhotoState.GRANDE,
        progress=80,
        error="",
    )
    assert records.from_hash(PhotoJob, records.to_hash(job)) == job
