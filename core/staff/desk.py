"""The staff's side of stale orders in Redis: which alerts are due, and who answered them.

Every stale order the watcher claims gets a card (an alert with buttons) in the admin chats.
A card belongs to a *round*: the first alert is round 1, each reminder the next one. One
round is answered at most once — the first press (Atendido, Posponer, Reintentar, Cancelar y
avisar) closes it in one Lua script, so two admins pressing at once cannot both act; the
other one is told who did what.

Keys (under `pedidos:`):
  staff:due            zset  order ids whose next card is due, by when
  staff:log:{order}    list  every staff action on the order (JSON, oldest first)
  staff:cards:{order}  hash  "{chat}:{message}" -> round, the cards shown for the order
  staff:run:{run}      list  what one watcher run took to send ("order|round|kind|ignored"),
                             so a retried run resends the same cards under the same keys
Order fields (Order.extra): staff_round (latest round sent), staff_closed (latest round
answered), staff_ignored (cards sent since the last answer), staff_last (the answering
action, JSON).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import redis

from core.orders.store import PREFIX, OrderStore
from core.redisio import as_strings

DUE_KEY = f"{PREFIX}staff:due"
LOG_PREFIX = f"{PREFIX}staff:log:"
CARDS_PREFIX = f"{PREFIX}staff:cards:"
# The staff rounds of each order (round, closed, ignored, last action); the order itself is in
# the database (core.orders.store).
STATE_PREFIX = f"{PREFIX}staff:order:"
RUN_PREFIX = f"{PREFIX}staff:run:"
# A run's taken cards outlive every retry of the run.
RUN_TTL = 7 * 24 * 3600
# The staff log and the cards of an order are kept this long after its latest change.
KEEP_SECONDS = 90 * 24 * 3600

ROUND_FIELD = "x:staff_round"  # fields of the STATE_PREFIX hash
CLOSED_FIELD = "x:staff_closed"
IGNORED_FIELD = "x:staff_ignored"
LAST_FIELD = "x:staff_last"


# KEYS: due. ARGV: now, then order ids. A newly stale order's first card is due now; NX so a
# retried watcher run does not move an order already waiting for its reminder.
_OPEN = """
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[i]) end
return 1
"""

# KEYS: due, this run's list. ARGV: now, limit, staff state key prefix, repeats, run ttl,
# next reminder (now + ESCALATE_AFTER), the due ids whose order finished or is gone (',').
# Takes the due orders for one run: an order that finished meanwhile leaves the queue; any
# other gets its next round: the alert when nobody was told since the last answer, a
# reminder while fewer than `repeats` went unanswered, else the escalation (the last card:
# the order leaves the queue until someone answers).
_TAKE_DUE = """
local mine = redis.call('LRANGE', KEYS[2], 0, -1)
if #mine > 0 then return mine end
local final = {}
for id in string.gmatch(ARGV[7], '[^,]+') do final[id] = true end
local taken = {}
for _, id in ipairs(redis.call(
    'ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))) do
  local key = ARGV[3] .. id
  if final[id] then
    redis.call('ZREM', KEYS[1], id)
  else
    local ignored = tonumber(redis.call('HGET', key, 'x:staff_ignored') or '0')
    local round = redis.call('HINCRBY', key, 'x:staff_round', 1)
    local kind = 'alert'
    if ignored > tonumber(ARGV[4]) then kind = 'escalation'
    elseif ignored > 0 then kind = 'reminder' end
    redis.call('HSET', key, 'x:staff_ignored', ignored + 1)
    if kind == 'escalation' then
      redis.call('ZREM', KEYS[1], id)
    else
      redis.call('ZADD', KEYS[1], ARGV[6], id)
    end
    taken[#taken + 1] = id .. '|' .. round .. '|' .. kind .. '|' .. ignored
  end
end
if #taken > 0 then
  redis.call('RPUSH', KEYS[2], unpack(taken))
  redis.call('EXPIRE', KEYS[2], ARGV[5])
end
return taken
"""

# KEYS: the order's staff state, due, log. ARGV: id, round, the action record (JSON), next due
# ('' to leave the queue), needs an unfinished order (0/1), the order's state ('' when it is
# gone), keep seconds.
# {1}: this press answered the round. {0, last}: the round was answered already (last: by
# whom). {-1}: a newer card replaced this one. {-2}: no such order. {-3, state}: the order
# finished, so there is nothing to retry or cancel.
_ACT = """
if ARGV[6] == '' then return {-2} end
local f = redis.call('HMGET', KEYS[1], 'x:staff_round', 'x:staff_closed', 'x:staff_last')
if f[2] == ARGV[2] then return {0, f[3] or ''} end
if f[1] ~= ARGV[2] then return {-1} end
if ARGV[5] == '1' and ARGV[8] == '1' then return {-3, ARGV[6]} end
redis.call('HSET', KEYS[1], 'x:staff_closed', ARGV[2], 'x:staff_last', ARGV[3],
  'x:staff_ignored', 0)
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[7])
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
end
return {1}
"""


class Kind(StrEnum):
    """Which card a round shows."""

    ALERT = "alert"
    REMINDER = "reminder"
    ESCALATION = "escalation"


class Action(StrEnum):
    """A card's buttons; the values travel in callback data."""

    ACK = "a"
    SNOOZE = "z"
    RETRY = "r"
    CANCEL = "x"

    @property
    def needs_open_order(self) -> bool:
        return self in (Action.RETRY, Action.CANCEL)


class Verdict(StrEnum):
    """What a press came to."""

    DONE = "done"  # this press answered the round
    ANSWERED = "answered"  # someone answered it first
    SUPERSEDED = "superseded"  # a newer card of the order replaced this one
    FINISHED = "finished"  # the order finished: nothing to retry or cancel
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Record:
    """One staff action on an order: who, from which chat, when."""

    action: str
    user_id: int
    name: str
    chat_id: int
    at: float
    round: int
    outcome: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> Record:
        data: dict[str, Any] = json.loads(raw)
        return cls(**data)


@dataclass(frozen=True)
class Due:
    """A card one watcher run sends: the order, its round, which card, unanswered before."""

    order_id: str
    round: int
    kind: Kind
    ignored: int

    @classmethod
    def parse(cls, raw: str) -> Due:
        order_id, round_, kind, ignored = raw.split("|")
        return cls(order_id, int(round_), Kind(kind), int(ignored))


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    last: Record | None = None
    state: str = ""


class StaffDesk:
    """The staff state of stale orders, changed only through atomic scripts."""

    def __init__(self, client: redis.Redis, store: OrderStore) -> None:
        self.redis = client
        self.store = store
        self._open = client.register_script(_OPEN)
        self._take_due = client.register_script(_TAKE_DUE)
        self._act = client.register_script(_ACT)

    def open(self, order_ids: list[str], now: float) -> None:
        """Newly stale orders: their first card is due now (an order already queued stays)."""
        if order_ids:
            self._open(keys=[DUE_KEY], args=[now, *order_ids])

    def take_due(
        self, run_id: str, now: float, limit: int, repeats: int, remind_after: float
    ) -> list[Due]:
        """The cards run `run_id` sends (the same ones again when the run is retried)."""
        due = [str(i) for i in self.redis.zrangebyscore(DUE_KEY, "-inf", now, 0, limit)]
        open_ids = {o.id for o in self.store.get_many(due) if not o.is_final}
        finished = ",".join(i for i in due if i not in open_ids)
        raw = self._take_due(
            keys=[DUE_KEY, RUN_PREFIX + run_id],
            args=[now, limit, STATE_PREFIX, repeats, RUN_TTL, now + remind_after, finished],
        )
        return [Due.parse(str(item)) for item in raw]

    def next_due(self, order_id: str) -> float | None:
        score = self.redis.zscore(DUE_KEY, order_id)
        return float(score) if score is not None else None

    def act(self, order_id: str, round_: int, record: Record, next_due: float | None) -> Outcome:
        """Answer round `round_` of the order's cards with `record`, if nobody did first."""
        action = Action(record.action)
        state = self.store.state_of(order_id)
        status, *rest = self._act(
            keys=[STATE_PREFIX + order_id, DUE_KEY, LOG_PREFIX + order_id],
            args=[
                order_id,
                round_,
                record.to_json(),
                "" if next_due is None else next_due,
                "1" if action.needs_open_order else "0",
                state.value if state else "",
                KEEP_SECONDS,
                "1" if state and state.is_final else "0",
            ],
        )
        if status == 1:
            return Outcome(Verdict.DONE)
        if status == 0:
            return Outcome(Verdict.ANSWERED, Record.from_json(rest[0]) if rest[0] else None)
        if status == -1:
            return Outcome(Verdict.SUPERSEDED)
        if status == -3:
            return Outcome(Verdict.FINISHED, state=str(rest[0]))
        return Outcome(Verdict.NOT_FOUND)

    def note_outcome(self, order_id: str, outcome: str) -> None:
        """Add what an action came to (e.g. cancelling found the order completed) to the log."""
        key = LOG_PREFIX + order_id
        last = self.redis.lindex(key, -1)
        if last:
            record = Record.from_json(str(last))
            self.redis.lset(key, -1, Record(**{**asdict(record), "outcome": outcome}).to_json())

    def history(self, order_id: str) -> list[Record]:
        """Every staff action on the order, oldest first."""
        return [
            Record.from_json(raw)
            for raw in as_strings(self.redis.lrange(LOG_PREFIX + order_id, 0, -1))
        ]

    def add_card(self, order_id: str, chat_id: int, message_id: int, round_: int) -> None:
        key = CARDS_PREFIX + order_id
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(key, f"{chat_id}:{message_id}", round_)
        pipe.expire(key, KEEP_SECONDS)
        pipe.execute()

    def cards(self, order_id: str) -> Mapping[tuple[int, int], int]:
        """Every card shown for the order: (chat, message) -> its round."""
        raw: dict[str, str] = self.redis.hgetall(CARDS_PREFIX + order_id)  # type: ignore[assignment]
        found = {}
        for place, round_ in raw.items():
            chat, message = place.split(":")
            found[(int(chat), int(message))] = int(round_)
        return found
