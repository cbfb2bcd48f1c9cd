"""Every metric the shop exposes, declared once: name, help, labels and buckets.

Labels are low-cardinality by construction: each takes a value our code chooses from a short
list (an order event, a state, a Bot API method, a currency, a reason code), never a chat id,
an order id, a user id or text a user wrote. core.metrics checks each value on the way in.

In a Celery prefork worker these live in prometheus-client's multiprocess mode (each process
writes its own file under PROMETHEUS_MULTIPROC_DIR, tasks.metrics serves their sum); gauges
there say how to combine processes (`multiprocess_mode`). Nothing here is a gauge a worker
sets: what is a level (orders waiting, the last backup) is read when scraped (sources.py).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Time an order spends in one state: from seconds (automatic steps) to a day (a stuck order).
STATE_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 2700, 3600, 7200, 14400, 86400)
# Telegram waits 10 s for the answer to a pre-checkout query; the alert is at p99 over 5 s.
PRECHECKOUT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10)
# Renditions of one photo: tens of milliseconds for a small JPEG, seconds at the 50 MP cap.
RENDITION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32)

ORDERS = Counter(
    "pedidos_orders",
    "Orders by what happened to them: created, paid, completed, rejected, cancelled, failed.",
    ["event"],
)
STATE_SECONDS = Histogram(
    "pedidos_order_state_seconds",
    "Seconds an order spent in a state, observed when it leaves the state.",
    ["state"],
    buckets=STATE_BUCKETS,
)
REVENUE = Counter(
    "pedidos_revenue_minor",
    "Money received for orders, in the currency's minor units (cents; XTR: stars).",
    ["currency"],
)
REFUNDS = Counter(
    "pedidos_refunds_minor",
    "Money refunded, in the currency's minor units.",
    ["currency"],
)
PRECHECKOUT_SECONDS = Histogram(
    "pedidos_precheckout_answer_seconds",
    "From a pre-checkout query's arrival to the bot's answer (Telegram waits 10 s).",
    buckets=PRECHECKOUT_BUCKETS,
)
PRECHECKOUT_REFUSALS = Counter(
    "pedidos_precheckout_refusals",
    "Pre-checkout queries answered ok=False, by reason code.",
    ["reason"],
)
BOT_API_CALLS = Counter(
    "pedidos_bot_api_calls",
    "Bot API calls by method and result: ok, an HTTP error code (400, 403, 429...), 5xx, "
    "network (no answer), error.",
    ["method", "result"],
)
RETRY_AFTER_SECONDS = Counter(
    "pedidos_bot_api_retry_after_seconds",
    "Seconds Telegram asked to wait in its 429 answers (retry_after), summed.",
    ["method"],
)
SENDS_DELAYED = Counter(
    "pedidos_sends_delayed",
    "Sends the shared rate limiter made wait for a slot, by priority (urgent, progress).",
    ["priority"],
)
DEAD_LETTERS = Counter(
    "pedidos_dead_letters",
    "Messages Telegram kept refusing, stored as dead letters for /entregas (send, edit).",
    ["kind"],
)
PHOTO_JOBS = Counter(
    "pedidos_photo_jobs",
    "Photo jobs that ended, by result (done, rejected, failed) and reason code.",
    ["result", "reason"],
)
RENDITION_SECONDS = Histogram(
    "pedidos_photo_rendition_seconds",
    "Seconds to decode a photo and make its three renditions.",
    buckets=RENDITION_BUCKETS,
)
WATCHER_ALERTS = Counter(
    "pedidos_watcher_alerts",
    "Stale-order alerts the watcher sent to customers' chats.",
)
DEADLINE_BREACHES = Counter(
    "pedidos_deadline_breaches",
    "Orders that missed a deadline (accept, ready, deliver...), counted once per order.",
    ["deadline"],
)
