"""How close the bot runs to its bot-wide limit: when progress edits give way.

Every process notes each send it is granted in one decaying counter in Redis: its level is
about the messages granted over the last `TAU` seconds. When that level reaches
`SATURATED` of the bot-wide limit, every slot is wanted, urgent sends (results, replies,
alerts, final status edits) take them first, and an intermediate progress edit is not
sent: its text stays recorded (core.telegram.coalesced_edits coalesces edits), so the
next edit of the same message, at the latest its final one, shows the newest text. Under
saturation an order then costs its reply, its final status and its result.

This sits beside the limiter (core.telegram.rate_limiter), whatever algorithm that uses: it reads
only what was granted, never the buckets.
"""

from __future__ import annotations

import redis

KEY = "pedidos:rate:level"
# Seconds the level looks back (its decay time constant).
TAU = 1.0
# Fraction of the bot-wide limit at which traffic counts as saturating it.
SATURATED = 0.8

# KEYS[1] the level. ARGV[1] messages just granted. Decays the level to now and adds them.
NOTE_SCRIPT = f"""
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local v = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = tonumber(v[1] or 0) * math.exp((tonumber(v[2] or now) - now) / {TAU})
redis.call('HSET', KEYS[1], 'level', tostring(level + tonumber(ARGV[1])), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], {int(TAU * 10_000)})
return 1
"""

# KEYS[1] the level. Returns it decayed to now, as a string (Lua numbers become integers).
LEVEL_SCRIPT = f"""
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local v = redis.call('HMGET', KEYS[1], 'level', 'at')
if not v[1] then return '0' end
return tostring(tonumber(v[1]) * math.exp((tonumber(v[2]) - now) / {TAU}))
"""


class Saturation:
    """Notes granted sends and says when progress should give way."""

    def __init__(self, client: redis.Redis, global_per_second: float = 30.0) -> None:
        self.threshold = SATURATED * global_per_second * TAU
        self._note = client.register_script(NOTE_SCRIPT)
        self._level = client.register_script(LEVEL_SCRIPT)

    def note_sent(self, cost: int = 1) -> None:
        self._note(keys=[KEY], args=[cost])

    def level(self) -> float:
        return float(self._level(keys=[KEY]))

    def saturated(self) -> bool:
        """Whether sends are near the bot-wide limit right now."""
        return self.level() >= self.threshold
