"""The shared limiter on a real redis-server: buckets, priority, cooldowns, many clients at once."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterator

import pytest
import redis

from core.telegram.rate_limiter import Limits, RateLimiter, new_ticket

# For tests of one chat: a bot-wide pace fast enough not to be what waits.
ONE_CHAT = Limits(global_per_second=10_000)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url, decode_responses=True)
    yield connection
    connection.close()


def test_a_chat_gets_its_burst_then_one_per_second(client: redis.Redis) -> None:
    limiter = RateLimiter(client, ONE_CHAT)
    first = [limiter.try_acquire(1001) for _ in range(2)]
    # The third send of the burst waits out the jitter margin; nothing was taken meanwhile.
    third = limiter.try_acquire(1001)
    assert first == [0.0, 0.0] and 0.15 < third <= 0.2
    assert limiter.try_acquire(1001) == pytest.approx(third, abs=0.01)


def test_results_and_alerts_go_before_progress_in_a_busy_chat(client: redis.Redis) -> None:
    limiter = RateLimiter(client, ONE_CHAT)
    assert limiter.try_acquire(7, urgent=False) == 0  # a progress edit
    assert limiter.try_acquire(7, urgent=False) > 0  # the next one waits for spare capacity
    assert limiter.try_acquire(7, urgent=True) == 0  # a result goes at once


def test_progress_yields_the_last_bot_wide_slot_to_an_urgent_send(client: redis.Redis) -> None:
    limiter = RateLimiter(client)
    for chat in range(29):
        assert limiter.try_acquire(chat, ticket=f"t{chat}") == 0
    assert limiter.try_acquire(100, urgent=False) > 0  # progress leaves the 30th free
    assert limiter.try_acquire(101, urgent=True) == 0  # a result takes it at once
    assert limiter.try_acquire(102, urgent=True) > 0  # 30 in flight: nobody else


def test_a_send_counts_until_one_second_after_its_answer(client: redis.Redis) -> None:
    limiter = RateLimiter(client)
    for chat in range(30):
        assert limiter.try_acquire(chat, ticket=f"t{chat}") == 0
    # Unanswered sends may still be on their way: the 31st waits however long they take. The
    # passing of more than the 1 s window is what is under test, so this sleep is the test.
    time.sleep(1.2)
    assert limiter.try_acquire(200) > 0
    limiter.answered("t0")
    wait = limiter.try_acquire(200)
    assert 0.9 < wait <= 1.0  # the first answered send leaves the window a second later
    time.sleep(wait)  # exactly the wait the limiter named: then, and not before, it grants
    assert limiter.try_acquire(200) == 0


def test_a_group_keeps_to_twenty_per_minute(client: redis.Redis) -> None:
    limiter = RateLimiter(
        client, Limits(global_per_second=10_000, chat_per_second=1000, chat_burst=10, jitter=0)
    )
    assert [limiter.try_acquire(-500) for _ in range(3)] == [0, 0, 0]
    assert 2.9 < limiter.try_acquire(-500) <= 3.0  # then one every 3 s
    assert limiter.try_acquire(900) == 0  # a private chat is not held by the group


def test_an_album_larger_than_the_burst_goes_when_the_chat_is_idle(client: redis.Redis) -> None:
    limiter = RateLimiter(client, ONE_CHAT)
    assert limiter.try_acquire(55, cost=5) == 0
    assert limiter.try_acquire(55) == pytest.approx(5 - 1.8, abs=0.05)


def test_a_429_holds_its_chat_and_two_chats_hold_the_bot(client: redis.Redis) -> None:
    limiter = RateLimiter(client)
    assert limiter.cool_down(10, 1.5) is False
    assert limiter.try_acquire(10) == pytest.approx(1.5, abs=0.05)
    assert limiter.try_acquire(11) == 0  # other chats go on
    time.sleep(1 / 30)  # one bot-wide slot (30/s) passes, so only the cooldown can hold 13
    assert limiter.cool_down(12, 1.0) is True  # a second chat within a second: bot-wide
    assert limiter.try_acquire(13) == pytest.approx(1.0, abs=0.05)


def test_acquire_sleeps_short_waits_and_returns_long_ones(client: redis.Redis) -> None:
    slept: list[float] = []
    limiter = RateLimiter(client, sleep=slept.append)
    limiter.cool_down(77, 3.0)
    wait = limiter.acquire(77, max_wait=1.2)
    assert wait == pytest.approx(3.0, abs=0.05) and slept == []


def conforms(times: list[float], rate: float, capacity: float, slack: float = 0.003) -> bool:
    """Whether sends at `times` never overdraw a token bucket (how the sandbox judges them)."""
    tokens, last = capacity, None
    for at in sorted(times):
        if last is not None:
            tokens = min(capacity, tokens + (at - last) * rate)
        last = at
        if tokens < 1 - slack * rate:
            return False
        tokens -= 1
    return True


def most_in_one_second(times: list[float]) -> int:
    """The most of `times` that fall in any sliding one-second window."""
    ordered, most, start = sorted(times), 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_many_clients_together_stay_within_every_bucket_and_use_it(redis_url: str) -> None:
    """Eight clients (own connections, like worker processes) send at random to three chats
    and a group for two seconds: every bucket holds, and the bot-wide one is used in full."""
    limits = Limits(
        global_per_second=50,
        chat_per_second=20,
        chat_burst=3,
        group_per_minute=900,
        jitter=0.02,
    )
    chats = [1, 2, 3, -4]
    granted: dict[int, list[float]] = defaultdict(list)
    lock = threading.Lock()
    stop = time.monotonic() + 2.0

    def client_loop(seed: int) -> None:
        rng = random.Random(seed)
        connection = redis.Redis.from_url(redis_url)
        limiter = RateLimiter(connection, limits)
        while time.monotonic() < stop:
            chat = rng.choice(chats)
            ticket = new_ticket()
            if limiter.acquire(chat, urgent=rng.random() < 0.5, max_wait=5, ticket=ticket) == 0:
                with lock:
                    granted[chat].append(time.monotonic())
                limiter.answered(ticket)  # Telegram answered at once
        connection.close()

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    every = sorted(t for times in granted.values() for t in times)
    # Never more than 50 in any sliding second, bot-wide.
    assert most_in_one_second(every) <= 50
    for chat in chats:
        assert conforms(granted[chat], rate=20, capacity=3), chat
    assert conforms(granted[-4], rate=15, capacity=3)
    # ... and the limit is used: about 50 a second (the window itself caps it above). A
    # limiter that holds sends back shows far below; 44/s was seen when the machine's two
    # cores were busy with other test modules (the clients' threads woke late), so the bound
    # leaves that much room.
    achieved = (len(every) - 1) / (every[-1] - every[0])
    assert achieved >= 0.8 * 50
