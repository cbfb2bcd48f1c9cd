"""The order state machine: its states, the moves it allows, and the Lua that enforces them.

`TRANSITIONS` is the one declaration; `allowed_from` turns it into what the Redis script
checks, so Python and Lua cannot disagree. Every change of state goes through
`TRANSITION_LUA` (core.orders.store), atomic whoever asks: a step, a cancel, a staff action.
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import CrossProcessError


class OrderState(StrEnum):
    """Every state an order can be in; the values are stored and shown in Flower."""

    PENDIENTE = "pendiente"
    VALIDANDO_PAGO = "validando_pago"
    PREPARANDO_ENVIO = "preparando_envio"
    NOTIFICANDO = "notificando"
    COMPLETADO = "completado"
    FALLIDO = "fallido"
    CANCELADO = "cancelado"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({OrderState.COMPLETADO, OrderState.FALLIDO, OrderState.CANCELADO})

# The chain's steps in order; each one moves the order into its state when it starts.
STEPS: tuple[OrderState, ...] = (
    OrderState.VALIDANDO_PAGO,
    OrderState.PREPARANDO_ENVIO,
    OrderState.NOTIFICANDO,
)

TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.PENDIENTE: frozenset(
        {OrderState.VALIDANDO_PAGO, OrderState.FALLIDO, OrderState.CANCELADO}
    ),
    OrderState.VALIDANDO_PAGO: frozenset(
        {OrderState.PREPARANDO_ENVIO, OrderState.FALLIDO, OrderState.CANCELADO}
    ),
    OrderState.PREPARANDO_ENVIO: frozenset(
        {OrderState.NOTIFICANDO, OrderState.FALLIDO, OrderState.CANCELADO}
    ),
    OrderState.NOTIFICANDO: frozenset(
        {OrderState.COMPLETADO, OrderState.FALLIDO, OrderState.CANCELADO}
    ),
    OrderState.COMPLETADO: frozenset(),
    OrderState.FALLIDO: frozenset(),
    OrderState.CANCELADO: frozenset(),
}


class InvalidTransition(CrossProcessError):
    """A change the state machine does not allow (e.g. completing a cancelled order)."""

    def __init__(self, current: OrderState, wanted: OrderState) -> None:
        super().__init__(f"{current} -> {wanted} is not allowed")
        self.current = current
        self.wanted = wanted


def step_number(state: OrderState) -> int:
    """How many steps have started when an order is in `state` (0 before the first)."""
    if state is OrderState.COMPLETADO:
        return len(STEPS)
    return STEPS.index(state) + 1 if state in STEPS else 0


def allowed_from(wanted: OrderState) -> str:
    """The states `wanted` may be reached from, as the Lua script takes them (comma-joined)."""
    return ",".join(state.value for state, nexts in TRANSITIONS.items() if wanted in nexts)


# KEYS: order, open index, stale index, finished index. ARGV: wanted state, is_final (0/1),
# now, allowed-from states joined by ',', then extra field name/value pairs.
# Returns {status, state}: 1 moved, 0 already there (a step run twice), -1 refused, -2 missing.
TRANSITION_LUA = """
local current = redis.call('HGET', KEYS[1], 'state')
if not current then return {-2, ''} end
if current == ARGV[1] then return {0, current, redis.call('HGETALL', KEYS[1])} end
local allowed = false
for state in string.gmatch(ARGV[4], '[^,]+') do
  if state == current then allowed = true end
end
if not allowed then return {-1, current} end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'updated_at', ARGV[3])
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'finished_at', ARGV[3])
  local id = redis.call('HGET', KEYS[1], 'id')
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZADD', KEYS[4], ARGV[3], redis.call('HGET', KEYS[1], 'chat_id') .. '/' .. id)
end
return {1, current, redis.call('HGETALL', KEYS[1])}
"""
