"""Typed reads and writes of Redis hashes for clients made with `decode_responses=True`.

redis-py types every reply as `bytes | str`; our clients always decode, so these helpers
state that once instead of casting at every call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

import redis


def read_hash(client: redis.Redis, key: str) -> dict[str, str]:
    """All fields of a hash (empty when the key does not exist)."""
    return cast(dict[str, str], client.hgetall(key))


def write_hash(client: Any, key: str, fields: Mapping[str, str]) -> None:
    """Set fields of a hash; `client` may be a pipeline."""
    client.hset(key, mapping=dict(fields))


def as_strings(reply: Iterable[Any]) -> list[str]:
    """A list reply (ids from a sorted set) as strings."""
    return [str(item) for item in reply]


def flat_hash(reply: Iterable[Any]) -> dict[str, str]:
    """A hash a Lua script returned as HGETALL's flat [field, value, ...] list."""
    flat = [str(item) for item in reply]
    return dict(zip(flat[::2], flat[1::2], strict=True))
