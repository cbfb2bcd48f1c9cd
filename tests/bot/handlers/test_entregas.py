"""/entregas answers stay within Telegram's 4096 characters however many letters there are."""

from __future__ import annotations

from typing import Any

import pytest

import tasks.delivery
from bot.handlers import entregas
from core.telegram.dead_letters import DeadLetter, new_letter_id

TELEGRAM_MAX = 4096


class Letters:
    def __init__(self, n: int) -> None:
        self.all = [
            DeadLetter(new_letter_id(), "send", 5, "texto " * 30, "HTTP 502", 5, 0.0)
            for _ in range(n)
        ]

    def ids(self) -> list[str]:
        return [letter.id for letter in self.all]


@pytest.mark.parametrize("lang", ["es", "en"])
@pytest.mark.parametrize("count", [1, 20, 400, 5_000])
def test_replaying_every_letter_answers_in_one_message(
    monkeypatch: pytest.MonkeyPatch, lang: str, count: int
) -> None:
    letters = Letters(count)
    monkeypatch.setattr(tasks.delivery, "replay_dead_letters", lambda _l, ids: letters.all)
    answer = entregas._replay(letters, ["todas"], lang)  # type: ignore[arg-type]
    assert len(answer) <= TELEGRAM_MAX
    assert str(count) in answer
    assert letters.all[0].id in answer
    if count > entregas.REPLAY_IDS_SHOWN:
        assert str(count - entregas.REPLAY_IDS_SHOWN) in answer


def test_the_listing_hides_customer_text_outside_private() -> None:
    letter = DeadLetter("E-0123456789", "send", 5, "calle Mayor 5", "HTTP 502", 5, 0.0)
    shown: list[Any] = [
        entregas._line(letter, "es", 10.0, show_text=True),
        entregas._line(letter, "es", 10.0, show_text=False),
    ]
    assert "calle Mayor 5" in shown[0]
    assert "calle Mayor" not in shown[1] and "texto oculto" in shown[1]
