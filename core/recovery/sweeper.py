"""One active sweeper among all workers: whoever holds this lock sweeps."""

from __future__ import annotations

import secrets

import redis

from core.recovery.leases import ALLOW_OOM, PREFIX, holder_name

SWEEPER_KEY = f"{PREFIX}sweeper"

# KEYS: lock. ARGV: holder, ms. Takes the lock or keeps it if ours; 1 when we hold it. Even at
# maxmemory (one tiny key): a sweeper that lost its lock to a full Redis is not replaced.
_HOLD = (
    ALLOW_OOM
    + """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
)


class SweeperLock:
    """One active sweeper among all workers: whoever holds this lock sweeps."""

    def __init__(self, client: redis.Redis, hold_seconds: float, holder: str | None = None) -> None:
        self.redis = client
        self.hold_ms = max(1, round(hold_seconds * 1000))
        self.holder = holder or f"{holder_name()}:{secrets.token_hex(3)}"
        self._hold = client.register_script(_HOLD)

    def hold(self) -> bool:
        """Take or keep the lock; True while this process is the sweeper."""
        return bool(self._hold(keys=[SWEEPER_KEY], args=[self.holder, self.hold_ms]))

    def release(self) -> None:
        self.redis.eval(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
            "return 0",
            1,
            SWEEPER_KEY,
            self.holder,
        )
