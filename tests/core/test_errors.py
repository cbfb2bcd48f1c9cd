"""Errors survive the trip from a pool process back to the worker (Celery pickles them)."""

from __future__ import annotations

import pickle

import pytest

from core.orders.states import InvalidTransition, OrderState
from core.telegram.client import BadRequest, FileTooBig, Forbidden, TooManyRequests, TransientError
from core.telegram.limited_calls import Throttled


@pytest.mark.parametrize(
    "error",
    [
        TransientError("getFile", 502, "Bad Gateway"),
        TooManyRequests("sendMessage", 429, "Too Many Requests: retry after 3", 3.0),
        Forbidden("sendMessage", 403, "Forbidden: bot was blocked by the user"),
        BadRequest("editMessageText", 400, "Bad Request: message to edit not found"),
        Throttled("sendMediaGroup", 1.5),
        FileTooBig(25_000_000, 20_971_520),
    ],
)
def test_bot_api_errors_keep_their_type_and_fields(error: Exception) -> None:
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert vars(again) == vars(error)
    assert str(again) == str(error)


def test_invalid_transition_keeps_its_states() -> None:
    error = InvalidTransition(OrderState.CANCELADO, OrderState.COMPLETADO)
    again = pickle.loads(pickle.dumps(error))
    assert (again.current, again.wanted) == (OrderState.CANCELADO, OrderState.COMPLETADO)
