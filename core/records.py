"""One codec between flat dataclasses (orders, photo jobs) and Redis hashes.

A record's fields are str, int, float or a str-valued Enum; a hash stores each as a string.
Reading fills a field missing from the hash with its default, so a record written before a
field existed still reads.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

R = TypeVar("R")


def to_hash(record: Any) -> dict[str, str]:
    """The record's scalar fields as strings, enums by value (other fields are the caller's)."""
    flat = {}
    for name, _ in _fields(type(record)):
        value = getattr(record, name)
        flat[name] = value.value if isinstance(value, enum.Enum) else str(value)
    return flat


def from_hash(cls: Callable[..., R], raw: Mapping[str, str], **extra: Any) -> R:
    """The record a hash holds (inverse of `to_hash`); `extra` sets fields outside it."""
    values: dict[str, Any] = {name: parse(raw[name]) for name, parse in _fields(cls) if name in raw}
    return cls(**values, **extra)


_Fields = tuple[tuple[str, Callable[[str], Any]], ...]
_FIELDS: dict[Any, _Fields] = {}


def _fields(cls: Any) -> _Fields:
    """(name, parser) per field that a hash holds, read once per class."""
    known = _FIELDS.get(cls)
    if known is not None:
        return known
    hints = typing.get_type_hints(cls)
    found = []
    for item in dataclasses.fields(cls):
        kind = hints[item.name]
        if kind in (str, int, float) or (isinstance(kind, type) and issubclass(kind, enum.Enum)):
            found.append((item.name, kind))
    _FIELDS[cls] = tuple(found)
    return _FIELDS[cls]
