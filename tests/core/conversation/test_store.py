"""The guided order's state against a real redis-server: tokens, timeouts, one confirmation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from core.conversation.store import ConversationStore, Outcome, Step

CHAT, USER = -100_500, 7


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


@pytest.fixture
def conversations(client: redis.Redis, clock: Clock) -> ConversationStore:
    return ConversationStore(client, timeout=60, clock=clock)


def test_text_then_confirmation_under_new_tokens(conversations: ConversationStore) -> None:
    asking = conversations.start(CHAT, USER, "es")
    assert asking.step is Step.TEXT
    outcome, confirming = conversations.answer(CHAT, USER, asking.token, "2 pizzas")
    assert outcome is Outcome.DONE and confirming is not None
    assert confirming.step is Step.CONFIRM and confirming.text == "2 pizzas"
    assert confirming.token != asking.token
    # The question's buttons are now from an older message.
    assert conversations.confirm(CHAT, USER, asking.token) is Outcome.STALE
    assert conversations.confirm(CHAT, USER, confirming.token) is Outcome.DONE
    assert conversations.get(CHAT, USER) is None


def test_many_presses_of_confirmar_confirm_once(conversations: ConversationStore) -> None:
    asking = conversations.start(CHAT, USER, "es")
    _, confirming = conversations.answer(CHAT, USER, asking.token, "2 pizzas")
    assert confirming is not None
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(
            pool.map(lambda _: conversations.confirm(CHAT, USER, confirming.token), range(8))
        )
    assert outcomes.count(Outcome.DONE) == 1
    assert set(outcomes) == {Outcome.DONE, Outcome.GONE}


def test_cambiar_goes_back_to_asking(conversations: ConversationStore) -> None:
    asking = conversations.start(CHAT, USER, "en")
    _, confirming = conversations.answer(CHAT, USER, asking.token, "2 pizzas")
    assert confirming is not None
    outcome, again = conversations.change(CHAT, USER, confirming.token)
    assert outcome is Outcome.DONE and again is not None
    assert again.step is Step.TEXT and again.text == "" and again.language == "en"
    # A second press of Cambiar on the same message does nothing.
    assert conversations.change(CHAT, USER, confirming.token) == (Outcome.STALE, None)


def test_each_user_of_a_group_has_their_own(conversations: ConversationStore) -> None:
    ana = conversations.start(CHAT, USER, "es")
    luis = conversations.start(CHAT, USER + 1, "es")
    assert conversations.answer(CHAT, USER, luis.token, "x")[0] is Outcome.STALE
    assert conversations.leave(CHAT, USER + 1) is Outcome.DONE
    current = conversations.get(CHAT, USER)
    assert current is not None and current.token == ana.token


def test_times_out_after_the_last_change(
    conversations: ConversationStore, clock: Clock, client: redis.Redis
) -> None:
    asking = conversations.start(CHAT, USER, "es")
    clock.now += 59
    _, confirming = conversations.answer(CHAT, USER, asking.token, "2 pizzas")
    assert confirming is not None
    clock.now += 59
    assert not confirming.expired(clock.now)
    clock.now += 1
    assert confirming.expired(clock.now)
    assert conversations.confirm(CHAT, USER, confirming.token) is Outcome.EXPIRED
    # Remembered a while, so a late answer hears it was too late; then Redis drops it.
    assert 0 < client.pttl(ConversationStore.key(CHAT, USER)) <= (60 + 3600) * 1000
    assert conversations.leave(CHAT, USER) is Outcome.EXPIRED
    assert conversations.get(CHAT, USER) is None


def test_survives_a_new_process(client: redis.Redis, redis_url: str, clock: Clock) -> None:
    before = ConversationStore(client, timeout=60, clock=clock).start(CHAT, USER, "es")
    restarted = ConversationStore(
        redis.Redis.from_url(redis_url, decode_responses=True), timeout=60, clock=clock
    )
    assert restarted.get(CHAT, USER) == before
    assert restarted.answer(CHAT, USER, before.token, "2 pizzas")[0] is Outcome.DONE


def test_leaving_what_does_not_exist(conversations: ConversationStore) -> None:
    assert conversations.leave(CHAT, USER) is Outcome.GONE
    assert conversations.answer(CHAT, USER, "deadbeef", "x") == (Outcome.GONE, None)


def test_a_timed_out_step_is_reported_once_and_only_under_its_token(
    conversations: ConversationStore, clock: Clock
) -> None:
    first = conversations.start(10, 7, "es")
    assert conversations.timed_out(10, 7, first.token) is None  # not due yet
    outcome, asked = conversations.answer(10, 7, first.token, "2 pizzas")
    assert outcome is Outcome.DONE and asked is not None
    clock.now += 61
    assert conversations.timed_out(10, 7, first.token) is None  # the user moved on
    told = conversations.timed_out(10, 7, asked.token)
    assert told is not None and told.text == "2 pizzas"
    assert conversations.timed_out(10, 7, asked.token) is None  # told once
    # A late answer still finds it, to hear that it came too late.
    assert conversations.get(10, 7) is not None
