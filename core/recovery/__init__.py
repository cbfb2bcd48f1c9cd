"""Recovery of work a dead worker held, in seconds rather than a visibility timeout.

Redis gives a message a worker took back to the queue only after `VISIBILITY_TIMEOUT` (1 h by
default). Three things here do not wait for it:

- Leases: a task holds a lease on its unit of work (an order, a photo job, a message) while it
  runs, renewed every few seconds by its process. A lease that stops being renewed (the pool
  process or the whole worker died) expires after `TASK_LEASE`, and the sweep sends the task
  again under a new id; the old id is marked superseded, so the original message, if Redis
  ever gives it back, does nothing.
- Crash count: a unit whose previous run started and never finished counts one crash; past
  `TASK_MAX_CRASHES` the next run gives up (the task tells the chat) instead of running.
- Schedule: every wait (a retry's backoff, Telegram's `retry_after`, a conversation's timeout)
  is an entry in a Redis sorted set that the sweep sends when due, never a broker countdown:
  a countdown is held unacked by a worker, lost with it until the visibility timeout, and run
  twice when longer than it.

- Holders: each worker notes the broker messages it takes and beats; a worker with no beat for
  a lease is dead, and the messages it held unacked (prefetched, not started) go back to
  their queue at once (`holders`).
- Full Redis: a run whose write Redis refuses at `maxmemory` waits for room, the admins told
  once (`full`).

- Starts: work a bot stored and never queued (it died, or lost Redis, in between) is queued
  by the sweep once its grace is over (`starts`).

One sweeper at a time does the sweeping (a Redis lock every worker tries each interval).
Times are Redis's clock (`TIME`, in ms), so every machine agrees. No Celery here: tasks/
gives the payloads (signatures as JSON) and sends them.

Modules: `leases` (leases, crash counts, the thread that renews them), `schedule` (waits in
Redis), `starts` (stored, not yet queued), `sweeper` (the one-sweeper lock), `holders` (who
holds which message), `full` (Redis at maxmemory), `epoch` (which Redis the work is in).
"""
