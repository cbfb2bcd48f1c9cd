"""A base for exceptions that cross processes: Celery's prefork pool pickles them back.

An exception whose __init__ takes other arguments than the message it passes on cannot be
unpickled by default (it is rebuilt as `cls(*args)`), and Celery then hands errbacks and
`on_failure` an UnpickleableExceptionWrapper instead of the error, so nothing can tell a
5xx from a bug. Rebuilding from the instance's own state avoids calling __init__ at all.
"""

from __future__ import annotations

from typing import Any


def _rebuild(cls: type[Exception], args: tuple[Any, ...], state: dict[str, Any]) -> Exception:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class CrossProcessError(Exception):
    """An exception that pickles with its attributes, whatever its __init__ takes."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))
