"""Celery's side of core.recovery: leased tasks, waits in the Redis schedule, the sweeper.

- `RecoverableTask` (the base of every task that works for a chat) holds a lease on its unit
  of work while it runs, gives up after too many crashes, does nothing when superseded, and
  turns every countdown or ETA into an entry of the schedule in Redis.
- `Sweeper` is a worker bootstep: every `SWEEP_INTERVAL` each worker's main process tries the
  sweeper lock, and the one holding it sends the due waits, re-sends the tasks whose lease
  expired, and gives back the messages a dead worker had taken and not acked (core.recovery.
  holders: each worker notes what it takes and beats from its main process). A worker-side
  timer rather than beat: recovery then needs nothing but a live worker (a crashed beat hands
  over only after its lock expires, minutes later), and a sweep never waits behind other
  tasks in a queue.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from celery import Task, bootsteps, uuid
from celery.exceptions import Ignore, Reject, Retry
from celery.utils.log import get_task_logger
from kombu.utils.json import dumps as json_dumps

from core.admission import out_of_memory
from core.recovery.full import FullRedis
from core.recovery.holders import worker_name
from core.recovery.leases import holder_name
from core.recovery.sweeper import SweeperLock
from tasks import app, clients
from tasks.forksafe import per_process
from tasks.holding import WORKER, give_back_dead_workers, start_beating

log = get_task_logger(__name__)

# Options of a request that must not travel with a re-sent copy.
_DROPPED_OPTIONS = ("countdown", "eta")

# How each kind of stored unit (core.recovery.starts) is queued when its bot never did: kind → a
# function of the unit's id that queues it unless it is queued, finished or gone already.
STARTERS: dict[str, Callable[[str], None]] = {}


# What the sweeper also does now and then: (interval in seconds, function) — e.g. queue again
# the orders the database has and Redis lost (tasks.orders). Each returns how many it handled.
EVERY_SWEEP: list[tuple[float, Callable[[], int]]] = []


def every_sweep(interval: float) -> Callable[[Callable[[], int]], Callable[[], int]]:
    """Run the function from the sweeper at most every `interval` seconds."""

    def register(fn: Callable[[], int]) -> Callable[[], int]:
        EVERY_SWEEP.append((interval, fn))
        return fn

    return register


def starter(kind: str) -> Callable[[Callable[[str], None]], Callable[[str], None]]:
    """Register how the sweep queues a stored unit of `kind` that its bot never queued."""

    def register(fn: Callable[[str], None]) -> Callable[[str], None]:
        STARTERS[kind] = fn
        return fn

    return register


def _delay_of(countdown: Any, eta: Any) -> float | None:
    """Seconds from now that a countdown or an ETA (datetime or ISO text) asks to wait."""
    if countdown is not None:
        return float(countdown)
    if eta is None:
        return None
    when = datetime.fromisoformat(eta) if isinstance(eta, str) else eta
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()


def _payload(signature: Any) -> str:
    """A signature as the JSON the sweeper sends again, without any wait."""
    data = dict(signature)
    data["options"] = {
        k: v for k, v in dict(data.get("options") or {}).items() if k not in _DROPPED_OPTIONS
    }
    return str(json_dumps(data))


@per_process
def full_redis() -> FullRedis:
    """What a worker does when Redis is at maxmemory (core.recovery.full)."""
    config = clients.settings()
    return FullRedis(clients.redis_client(), clients.bot_api(), config.admin_chat_ids)


def through_full_redis(what: str, fn: Callable[[], Any]) -> Any:
    """`fn()`, and again each time Redis refused one of its writes for lack of memory, once
    there is room (the admins told once; RedisFull when it does not come)."""
    while True:
        try:
            return fn()
        except Exception as exc:
            if not out_of_memory(exc):
                raise
            full_redis().wait_for_room(what)


def send_payload(payload: str, **options: Any) -> None:
    """Send a stored signature now (the sweeper's side)."""
    app.signature(json.loads(payload)).apply_async(**options)


class RecoverableTask(Task):
    """A task whose run holds a lease on its unit of work (see core.recovery)."""

    abstract = True

    def lease_unit(self, args: tuple, kwargs: dict) -> str | None:
        """The unit of work this run holds (None: not leased). One unit, one lease."""
        return ":".join([self.name, *(str(a) for a in args)])

    def give_up(self, args: tuple, kwargs: dict, crashes: int) -> None:
        """The unit's runs died `crashes` times in a row: end it for good, and say so."""
        log.error("task %s%s gave up after %s crashed runs", self.name, args, crashes)

    def apply_async(
        self,
        args: Any = None,
        kwargs: Any = None,
        task_id: str | None = None,
        producer: Any = None,
        link: Any = None,
        link_error: Any = None,
        shadow: Any = None,
        **options: Any,
    ) -> Any:
        """Send the task; a countdown or ETA goes to the Redis schedule, never the broker.

        A broker countdown is held unacked in a worker's memory until due: lost with that
        worker until VISIBILITY_TIMEOUT, and delivered twice when longer than it.
        """
        delay = _delay_of(options.pop("countdown", None), options.pop("eta", None))
        if delay is None or delay <= 0 or self.app.conf.task_always_eager:

            def send() -> Any:
                return super(RecoverableTask, self).apply_async(
                    args, kwargs, task_id, producer, link, link_error, shadow, **options
                )

        else:
            task_id = task_id or uuid()
            signature = self.signature(
                args, kwargs, task_id=task_id, link=link, link_error=link_error, **options
            )

            def send() -> Any:
                clients.schedule().add(_payload(signature), delay, entry_id=task_id)
                return self.AsyncResult(task_id)

        if self.app.current_worker_task is None:
            return send()  # the bot: a new order is refused whole (core.admission), not held
        # A worker's run (its next step, a retry, a message): held until Redis has room.
        return through_full_redis(f"sending {self.name}", send)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        unit = None
        if not (request.called_directly or request.is_eager or not request.id):
            unit = self.lease_unit(args, kwargs)
        if unit is None:
            return super().__call__(*args, **kwargs)
        payload = _payload(self.signature_from_request(request))
        verdict = clients.leases().begin(unit, request.id, payload)
        if verdict.action == "superseded":
            log.info("task %s[%s] superseded by a recovered copy: skipped", self.name, request.id)
            self._stop_chain()
            return None
        if verdict.action == "give_up":
            log.error("unit=%s crashed %s times: giving up", unit, verdict.crashes)
            self._stop_chain()
            self.give_up(args, kwargs, verdict.crashes)
            return None
        if verdict.crashes:
            log.warning("unit=%s runs again after %s crashed runs", unit, verdict.crashes)
        request.lease_unit = unit
        clients.lease_keeper().hold(unit, request.id)
        try:
            # A write refused by a full Redis (progress, a send) runs the step again once
            # there is room, instead of ending it in an error that stalls its order.
            return through_full_redis(
                unit, lambda: super(RecoverableTask, self).__call__(*args, **kwargs)
            )
        except (Retry, Ignore, Reject):
            # Celery runs no after_return for these: the retry is already in the schedule.
            self.end_lease()
            raise

    def end_lease(self) -> None:
        """This run is over: let go of its lease (once; later calls do nothing)."""
        unit = getattr(self.request, "lease_unit", None)
        if unit:
            self.request.lease_unit = None
            clients.lease_keeper().drop(unit)
            clients.leases().end(unit, self.request.id)

    def after_return(
        self,
        status: str,
        retval: Any,
        task_id: str,
        args: tuple,
        kwargs: dict,
        einfo: Any,
    ) -> None:
        """The run ended (after the chain's next step was sent): let go of the lease."""
        self.end_lease()

    def _stop_chain(self) -> None:
        """This run does nothing, so the steps chained after it must not start either."""
        self.request.chain = None
        self.request.callbacks = None


class Sweeper(bootsteps.StartStopStep):
    """Each `SWEEP_INTERVAL`, in the worker's main process: sweep if holding the lock."""

    requires: ClassVar[set[str]] = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        self.tref: Any = None
        config = clients.settings()
        # Named before the consumer starts: every message this worker takes is noted under it.
        WORKER["name"] = worker_name()
        self.interval = config.sweep_interval
        # A dead sweeper's lock frees in a few intervals, well inside a lease.
        self.lock = SweeperLock(clients.redis_client(), max(3.0, 4 * config.sweep_interval))
        # A recovered task not started within this long is sent once more (the copy it
        # supersedes then does nothing): a queue backlog costs a duplicate skip, not a loss.
        self.queued_grace = max(300.0, 20 * config.task_lease)
        self.last_run: dict[str, float] = {}

    def start(self, worker: Any) -> None:
        start_beating(WORKER["name"], clients.settings().task_lease / 4)
        self.tref = worker.timer.call_repeatedly(self.interval, self.tick, priority=10)

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        try:
            self.lock.release()
        except Exception:  # Redis may be gone at shutdown; the lock then expires by itself
            log.debug("sweeper lock not released", exc_info=True)

    def tick(self) -> None:
        try:
            if self.lock.hold():
                sweep(self.queued_grace)
                self.now_and_then()
        except Exception as exc:  # never let a sweep error stop the worker's timer
            if not out_of_memory(exc):
                log.exception("sweep failed")
                return
            # Sent again at the next tick; the admins hear of a full Redis once.
            log.warning("sweep paused: Redis is full (maxmemory)")
            full_redis().alert_once("the recovery sweep")

    def now_and_then(self) -> None:
        """The EVERY_SWEEP functions whose interval has passed (the first tick runs them all:
        a worker that starts after Redis lost its data resumes the orders at once)."""
        now = time.monotonic()
        for interval, fn in EVERY_SWEEP:
            if now - self.last_run.get(fn.__name__, -interval) >= interval:
                self.last_run[fn.__name__] = now
                fn()


def sweep(queued_grace: float) -> tuple[int, int]:
    """Send the due waits, queue stored work its bot never queued, and re-send the tasks
    whose holder died; (sent, recovered)."""
    schedule = clients.schedule()
    sent = 0
    for due in schedule.take_due():
        send_payload(due.payload)
        schedule.done(due.id)
        sent += 1
    sent += start_unqueued()
    given_back = give_back_dead_workers()
    leases = clients.leases()
    recovered = leases.recover(uuid)
    for unit in recovered:
        send_payload(unit.payload, task_id=unit.new_id)
        leases.sent(unit.unit, unit.new_id, queued_grace)
        log.warning(
            "unit=%s lease expired (holder of %s died, %s crashed runs): sent again as %s",
            unit.unit,
            unit.old_id,
            unit.crashes,
            unit.new_id,
        )
    return sent, given_back + len(recovered)


def start_unqueued() -> int:
    """Queue the orders and photo jobs stored by a bot that died, or lost Redis, before it
    queued them (core.recovery.starts); how many."""
    pending = clients.starts()
    taken = pending.take_due(f"sweep:{holder_name()}")
    for kind, unit_id in taken:
        start = STARTERS.get(kind)
        if start is None:
            log.error("unit=%s:%s waits to be queued, but nothing queues a %s", kind, unit_id, kind)
            continue
        start(unit_id)
        pending.done(kind, unit_id)
    return len(taken)


app.steps["worker"].add(Sweeper)
