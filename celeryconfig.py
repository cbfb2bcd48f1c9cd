"""Every Celery setting in one place, each with the reason it is set.

`build(settings)` is the configuration of a process with those settings. The app (tasks)
reads it through `OnFirstRead`, when Celery first needs it (a worker, beat or Flower
starting, the bot's first publish), never on import: importing `tasks` reads no setting.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any

from celery.schedules import crontab, schedule
from kombu import Exchange, Queue

from core import redisconn
from core.reports.period import shop_zone
from core.settings import (
    TASK_TIME_LIMIT,
    Settings,
    get_settings,
    refuse_example_secrets,
    split_credentials,
)

# A Redis that vanishes without closing the connection (its machine lost or frozen, NAT, a
# firewall) must not hang a publish forever while the heartbeat still says healthy: every
# blocking call gives up after redisconn.COMMAND_TIMEOUT (10 s, well above kombu's 1 s BRPOP)
# and the connection is rebuilt. A worker meets such a Redis in turn in its ack, its BRPOP
# and its results: at 30 s each it sat idle for 90 s after a frozen master's failover.
_SOCKET_OPTIONS = {
    "socket_timeout": redisconn.COMMAND_TIMEOUT,
    "socket_connect_timeout": 5.0,
    "socket_keepalive": True,
}
# `bulk`: what an import starts (its orders' announcements, a cash order's chain: tasks.importer),
# consumed with `imports` by a worker of its own so it never queues ahead of `orders`.
QUEUES = ("orders", "images", "telegram", "watcher", "imports", "bulk", "reports")


def build(settings: Settings) -> dict[str, Any]:
    """The whole configuration, for these settings."""
    return {
        **_broker(settings),
        **_tasks(),
        **_routing(),
        **_beat(settings),
        **_worker_memory(settings),
    }


def _worker_memory(settings: Settings) -> dict[str, Any]:
    """A worker node's pool size and its processes' memory, when set (README, Photos)."""
    config: dict[str, Any] = {}
    if settings.worker_concurrency:
        config["worker_concurrency"] = settings.worker_concurrency
    if settings.worker_max_memory_per_child:
        # Celery's unit is the KiB of resident memory, checked after each task.
        config["worker_max_memory_per_child"] = max(1, settings.worker_max_memory_per_child // 1024)
    return config


class OnFirstRead(Mapping[str, Any]):
    """`app.config_from_object(OnFirstRead())`: the configuration from get_settings(), built
    the first time Celery reads it (Celery keeps a mapping as it is, and reads it lazily).

    Every Celery process (worker, beat, Flower, `celery inspect`) reads it before it connects
    anywhere, so none starts with unsafe settings or an example password.
    """

    @cached_property
    def _config(self) -> dict[str, Any]:
        settings = get_settings()
        refuse_example_secrets(settings)
        return build(settings)

    def __getitem__(self, key: str) -> Any:
        return self._config[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._config)

    def __len__(self) -> int:
        return len(self._config)


def _broker(settings: Settings) -> dict[str, Any]:
    """Broker and results: REDIS_URL, or the Sentinels' master (REDIS_SENTINELS)."""
    # Broker, results, their passwords and, with Sentinel, the transport options naming the
    # master and a publish retry through failovers.
    redis = redisconn.celery_settings(settings)
    # An unacked message returns to the queue after this; longer than any retry countdown.
    visibility = int(settings.visibility_timeout)
    config: dict[str, Any] = {
        "broker_url": redis["broker_url"],
        "result_backend": redis["result_backend"],
        "broker_connection_retry_on_startup": True,  # Redis may start after the worker.
        "broker_transport_options": {
            "visibility_timeout": visibility,
            **_SOCKET_OPTIONS,
            # Kombu sweeps for messages of dead workers every interval × throttle seconds
            # (100 s by default); keep the sweep well inside the visibility timeout so
            # recovery is prompt.
            "unacked_restore_interval": max(1, min(10, visibility // 4)),
            "unacked_restore_throttle": 1 if visibility < 600 else 10,
            **redis["broker_transport_options"],
        },
        "result_backend_transport_options": {
            "visibility_timeout": visibility,
            **redis["result_backend_transport_options"],
        },
        "redis_socket_timeout": redisconn.COMMAND_TIMEOUT,
        "redis_socket_keepalive": True,
        "redis_socket_connect_timeout": 5.0,
        # A result (a step's SUCCESS, a PROGRESS report) that meets Redis gone for a moment
        # (a failover, a restart) is stored again once Redis is back, for as long as a
        # failover may take: by default Celery gives up at once and the task whose work was
        # done fails, and its order with it.
        "result_backend_always_retry": True,
        "result_backend_max_retries": redisconn.retries_for(settings.redis_failover_timeout),
        "result_backend_base_sleep_between_retries_ms": int(redisconn.BACKOFF_BASE * 1000),
        "result_backend_max_sleep_between_retries_ms": int(redisconn.BACKOFF_CAP * 1000),
    }
    if redisconn.sentinel_mode(settings):
        for name in ("redis_password", "redis_socket_connect_timeout", "task_publish_retry_policy"):
            config[name] = redis[name]
    return config


def _tasks() -> dict[str, Any]:
    """How tasks are serialized, acknowledged, limited and shown."""
    return {
        # JSON only: a pickled message from the broker could run code.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        # Ack after the task ran, not when it was received: a worker killed mid-task leaves
        # its message in Redis to be delivered again (steps are idempotent, so a rerun is
        # harmless).
        "task_acks_late": True,
        # When a pool process dies (SIGKILL, OOM), give its task back instead of marking it
        # failed.
        "task_reject_on_worker_lost": True,
        # Take one message at a time: a long step does not hold others hostage in its prefetch.
        "worker_prefetch_multiplier": 1,
        # Results are for Flower and `/estado` while a task runs; the order store keeps the
        # truth.
        "result_expires": 24 * 3600,
        # STARTED shows in Flower and in the task state while a step runs.
        "task_track_started": True,
        # Events let Flower show every task live.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        # Kill a task stuck far beyond any normal run, so its slot comes back.
        "task_time_limit": TASK_TIME_LIMIT,
        "task_soft_time_limit": TASK_TIME_LIMIT - 60,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
    }


def _routing() -> dict[str, Any]:
    """Queues: photos in their own, so a flood of photos never delays an order."""
    return {
        "task_default_queue": "orders",
        # Each queue with its own exchange and routing key: queues sharing a routing key
        # would each get a copy of every message.
        "task_queues": tuple(
            Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES
        ),
        "task_default_exchange": "orders",
        "task_default_routing_key": "orders",
        "task_routes": {
            "procesar_imagen": {"queue": "images"},
            "revisar_pedidos_atrasados": {"queue": "watcher"},
            "vigilar_plazos": {"queue": "watcher"},
            "podar_retenidos": {"queue": "watcher"},
            # A 50,000-row import or a year's report must not hold up orders or alerts.
            "importar_datos": {"queue": "imports"},
            # Each imported order's word to its customer; its chain's steps, when the import
            # starts one (paid in cash), are sent to `bulk` by tasks.importer.bulk_chain.
            "avisar_pedido_importado": {"queue": "bulk"},
            "avisar_oferta_caducada": {"queue": "bulk"},
            "generar_reporte": {"queue": "reports"},
            "exportar_pedidos": {"queue": "reports"},
            "resumen_diario": {"queue": "reports"},
            # A backup reads the whole database for seconds to minutes: beside the reports.
            "backup_base_datos": {"queue": "reports"},
            # Receipts: a PDF to render, a mail server that may be slow (core.receipts).
            "enviar_factura": {"queue": "reports"},
            "enviar_correo": {"queue": "reports"},
            "generar_facturas": {"queue": "reports"},
        },
    }


def _daily_schedule(when: str) -> crontab | None:
    """DAILY_REPORT_AT (or BACKUP_AT) as a crontab: "HH:MM", five crontab fields, or "off"."""
    if when.strip().lower() in ("off", "no", "none", ""):
        return None
    fields = when.split()
    if len(fields) == 5:
        minute, hour, day_of_month, month_of_year, day_of_week = fields
        return crontab(minute, hour, day_of_week, day_of_month, month_of_year)
    hour, _, minute = when.strip().partition(":")
    return crontab(minute=int(minute or 0), hour=int(hour))


def _weekly_schedule(when: str) -> crontab | None:
    """WEEKLY_REPORT_AT as a crontab: five crontab fields, "HH:MM" (on Mondays), or "off"."""
    if len(when.split()) == 5 or when.strip().lower() in ("off", "no", "none", ""):
        return _daily_schedule(when)
    hour, _, minute = when.strip().partition(":")
    return crontab(minute=int(minute or 0), hour=int(hour), day_of_week="mon")


def _schedule(settings: Settings) -> dict[str, Any]:
    """What beat sends, and when."""
    entries: dict[str, Any] = {
        "revisar-pedidos-atrasados": {
            "task": "revisar_pedidos_atrasados",
            "schedule": schedule(run_every=settings.watch_interval),
            # A run that could not start before the next one is due is pointless.
            "options": {"expires": settings.watch_interval},
        },
        # Retention (core.retention): finished orders, photo jobs and old renditions go.
        "podar-retenidos": {
            "task": "podar_retenidos",
            "schedule": schedule(run_every=settings.retention_interval),
            "options": {"expires": settings.retention_interval},
        },
    }
    if settings.staff_chat_id is not None:
        # The human states' deadlines (core.deadlines) are minutes long: checked every
        # minute, or every WATCH_INTERVAL when that is shorter.
        every = min(DEADLINE_CHECK, settings.watch_interval)
        entries["vigilar-plazos"] = {
            "task": "vigilar_plazos",
            "schedule": schedule(run_every=every),
            "options": {"expires": every},
        }
    daily = _daily_schedule(settings.daily_report_at)
    if daily is not None:
        entries["resumen-diario"] = {
            "task": "resumen_diario",
            "schedule": daily,
            # A summary hours late is news nobody wants: dropped if not started within an hour.
            "options": {"expires": DAILY_LATEST},
        }
    weekly = _weekly_schedule(settings.weekly_report_at)
    if weekly is not None:
        # The seed's generar_reporte: last week's PDF to the admin chats, Monday 09:00.
        entries["generar-reporte-semanal"] = {
            "task": "generar_reporte",
            "schedule": weekly,
            "options": {"expires": DAILY_LATEST},
        }
    backup = _daily_schedule(settings.backup_at)
    if backup is not None:
        # The database backup (core.backup), daily at BACKUP_AT (02:00) in the beat's zone.
        entries["backup-base-datos"] = {
            "task": "backup_base_datos",
            "schedule": backup,
            # A copy that could not start within hours belongs to the next night.
            "options": {"expires": 6 * 3600},
        }
    if settings.receipts_enabled:
        # The previous month's receipts to the staff, on day 1 from 06:00; hourly until the
        # day ends, so a beat down at six still sends it (once: tasks.receipts).
        entries["generar-facturas"] = {
            "task": "generar_facturas",
            "schedule": crontab(minute=0, hour="6-23", day_of_month=1),
            "options": {"expires": 3600},
        }
    return entries


DEADLINE_CHECK = 60.0
# A daily job more than this late is skipped until its next time (below).
DAILY_LATEST = 3600


def beat_loop(settings: Settings) -> int:
    """Seconds between beat's ticks at most (and between a standby beat's asks for the lock):
    within the shortest interval, and 30 s at most."""
    return max(1, min(30, int(settings.watch_interval), int(settings.retention_interval)))


def _beat(settings: Settings) -> dict[str, Any]:
    """Beat: its schedule, and RedBeat keeping it in Redis behind a lock."""
    # With Sentinel: `redis-sentinel://` and the Sentinels, master name and password in the
    # options. Without: the URL without its password, which goes in the options instead.
    # Celery censors `broker_url`, `*backend*` and keys named like PASS in `inspect conf` and
    # Flower's config tab, but would show `redbeat_redis_url` as it is.
    redbeat = redisconn.redbeat_settings(settings)
    url, credentials = split_credentials(redbeat["redbeat_redis_url"])
    loop = beat_loop(settings)
    return {
        # crontab entries (the daily summary, the weekly report, the receipts'
        # statement) are read in the shop's time zone (SHOP_TIMEZONE, else REPORT_TIMEZONE).
        "timezone": shop_zone(settings),
        "beat_schedule": _schedule(settings),
        # RedBeat keeps the schedule in Redis behind a lock: a second beat (an overlapping
        # redeploy) waits instead of scheduling every job twice. tasks.beat's scheduler is
        # RedBeat's, carrying on through a Redis failover.
        "beat_scheduler": "tasks.beat:FailoverScheduler",
        "redbeat_redis_url": url,
        "redbeat_redis_options": {
            **_SOCKET_OPTIONS,
            **redbeat.get("redbeat_redis_options", {}),
            **credentials,
        },
        "redbeat_key_prefix": "pedidos:redbeat:",
        "beat_max_loop_interval": loop,
        # After beat was down, a crontab run (the daily summary) missed by more than this is
        # skipped: the job runs at its next time, not at the restart. Interval jobs (the
        # watcher, retention) overdue run once at the restart. tasks.beat logs either.
        "beat_cron_starting_deadline": DAILY_LATEST,
        # The running beat renews the lock every loop; it outlives a few missed loops, and a
        # beat killed with -9 hands over within this time (at most 150 s whatever
        # WATCH_INTERVAL is).
        "redbeat_lock_timeout": max(30, 5 * loop),
    }
