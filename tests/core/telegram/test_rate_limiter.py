"""The limiter's numbers and the delivery records, without Redis or the network."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.settings import Settings
from core.telegram.dead_letters import DeadLetter
from core.telegram.handover import Outgoing
from core.telegram.rate_limiter import Bucket, Limits, cooldown_call, is_group


def test_limits_come_from_settings() -> None:
    settings = Settings(
        rate_global_per_second=25,
        rate_chat_per_second=2,
        rate_chat_burst=4,
        rate_group_per_minute=10,
    )
    limits = Limits.from_settings(settings)
    assert (limits.global_per_second, limits.chat_per_second) == (25, 2)
    assert (limits.chat_burst, limits.group_per_minute) == (4, 10)


def test_a_private_chat_takes_from_the_bot_and_the_chat_a_group_also_from_the_group() -> None:
    limits = Limits()
    keys, _ = limits.acquire_call(42, urgent=True, cost=1)
    assert keys[2:] == ["pedidos:rate:global", "pedidos:rate:chat:42"]
    assert [key for key, _ in limits.buckets(-100123)][-1] == "pedidos:rate:group:-100123"
    assert is_group(-5) and is_group("@channel") and not is_group(7) and not is_group("7")


def test_script_arguments_carry_each_bucket_in_order() -> None:
    keys, args = Limits().acquire_call(-7, urgent=False, cost=3, ticket="t1")
    assert keys[:3] == [
        "pedidos:rate:cool:global",
        "pedidos:rate:cool:chat:-7",
        "pedidos:rate:global",
    ]
    assert len(keys) == 5 and len(args) == 6 + 2 * 3
    # The bot-wide log: 30 sends in any one-second window, in flight for at most 40 s.
    assert args[:6] == [3, 0, 30, 1_000_000, 40_000_000, "t1"]
    interval, tolerance, reserve = args[6:9]  # the chat: 1/s, burst 3 cut by 0.2 s
    assert interval == 1_000_000 and tolerance == 2_800_000 and reserve == interval


def test_chat_bucket_keeps_a_jitter_margin_and_reserves_a_send_for_urgent_ones() -> None:
    chat = Bucket(rate=1.0, burst=3, margin=0.2)
    assert chat.tolerance_us == 2_800_000
    assert chat.reserve_us == 1_000_000
    # Without burst there is nothing to cut: the pace itself stays exact.
    assert Bucket(rate=30, burst=1, margin=0.2).tolerance_us == 33333


@given(
    rate=st.floats(min_value=0.1, max_value=1000),
    burst=st.integers(min_value=1, max_value=50),
    margin=st.floats(min_value=0, max_value=5),
)
def test_tolerance_never_drops_below_one_interval(rate: float, burst: int, margin: float) -> None:
    """The margin only trims the burst: the long-run pace is always the configured rate."""
    bucket = Bucket(rate, burst, margin)
    tolerance = bucket.tolerance_us
    assert bucket.interval_us - 1 <= tolerance <= burst * bucket.interval_us
    assert 0 < bucket.reserve_us <= tolerance


def test_cooldown_arguments() -> None:
    keys, args = cooldown_call(12, 2.5)
    prefix = "pedidos:rate:"
    assert keys == [f"{prefix}cool:chat:12", f"{prefix}cool:global", f"{prefix}recent429"]
    assert args == [2_500_000, "12"]


@given(
    chat_id=st.integers(min_value=-(10**13), max_value=10**13),
    text=st.text(max_size=200),
    urgent=st.booleans(),
)
def test_outgoing_survives_the_task_payload(chat_id: int, text: str, urgent: bool) -> None:
    message = Outgoing(chat_id, text, f"order:{chat_id}:x", {"inline_keyboard": []}, urgent)
    assert Outgoing.from_dict(message.to_dict()) == message


def test_dead_letter_round_trips_through_json() -> None:
    letter = DeadLetter(
        id="E-ABC123",
        kind="send",
        chat_id=5,
        text="<b>hola</b> ñ",
        error="sendMessage: 502",
        attempts=8,
        at=1.5,
        message=Outgoing(5, "<b>hola</b> ñ", "k").to_dict(),
    )
    assert DeadLetter.from_json(letter.to_json()) == letter


def test_a_dead_letter_stored_with_the_old_extra_field_still_loads() -> None:
    stored = (
        '{"id": "E-ABC123", "kind": "edit", "chat_id": 5, "text": "Paso 2/3", "error": "502",'
        ' "attempts": 8, "at": 1.5, "message": null, "message_id": 7, "extra": {}}'
    )
    letter = DeadLetter.from_json(stored)
    assert (letter.kind, letter.message_id, letter.text) == ("edit", 7, "Paso 2/3")
