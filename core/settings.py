"""Every setting, read once from the environment into one typed object."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote, urlsplit, urlunsplit

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}

SANDBOX_TOKEN = "123456789:sandbox-token"
# The longest any task may run before Celery kills it (the watcher's run has its own, longer
# limit, core.watcher.watch.RUN_TIME_LIMIT). A message is redelivered after VISIBILITY_TIMEOUT even
# while its task still runs, so the timeout must outlast every limit.
TASK_TIME_LIMIT = 300
LONGEST_TASK = 600


class SettingsError(ValueError):
    """Settings that would break a guarantee; the message names them and says why."""


def parse_duration(text: str) -> float:
    """Seconds from `90`, `90s`, `15m`, `24h`, `1d` or `250ms`."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 24h)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_UNIT_BYTES = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, None: 1}


def parse_size(text: str) -> int:
    """Bytes from `1048576`, `512KB`, `10MB` or `1GB` (binary units)."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 512KB, 10MB)")
    unit = match.group(2).lower() if match.group(2) else None
    return int(float(match.group(1)) * _UNIT_BYTES[unit])


def _int_list(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.split(r"[,\s]+", text.strip()) if part)


def parse_hosts(text: str) -> tuple[tuple[str, int], ...]:
    """`(host, port)` pairs from `a:26379,b:26379` (the port defaults to Sentinel's 26379)."""
    hosts = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        host, _, port = part.rpartition(":") if ":" in part else (part, "", "26379")
        if not host or not port.isdigit():
            raise ValueError(f"not host:port: {part!r} (use e.g. 10.0.0.5:26379)")
        hosts.append((host.strip("[]"), int(port)))
    return tuple(hosts)


# Passwords copied from examples (ours is .env.example's `change-me`): compose's required-
# variable check lets them through, so every process refuses to start with one.
EXAMPLE_SECRETS = frozenset(
    {"change-me", "changeme", "change_me", "password", "secret", "admin", "redis", "example"}
)


def example_secrets(settings: Settings, env: Mapping[str, str] | None = None) -> list[str]:
    """The variables that hold a known example secret instead of a real one."""
    env = os.environ if env is None else env
    found = []
    if split_credentials(settings.redis_url)[1].get("password", "").lower() in EXAMPLE_SECRETS:
        found.append("REDIS_URL")
    if settings.redis_password.strip().lower() in EXAMPLE_SECRETS:
        found.append("REDIS_PASSWORD")
    if settings.redis_sentinel_password.strip().lower() in EXAMPLE_SECRETS:
        found.append("REDIS_SENTINEL_PASSWORD")
    if settings.webhook_secret.lower() in EXAMPLE_SECRETS:
        found.append("WEBHOOK_SECRET")
    for pair in filter(None, env.get("FLOWER_BASIC_AUTH", "").split(",")):
        if pair.partition(":")[2].strip().lower() in EXAMPLE_SECRETS:
            found.append("FLOWER_BASIC_AUTH")
    return found


def refuse_example_secrets(settings: Settings, env: Mapping[str, str] | None = None) -> None:
    """Stop the process (exit status 1, the reason on stderr) when a secret is an example."""
    found = example_secrets(settings, env)
    if found:
        raise SystemExit(
            f"refusing to start: {', '.join(found)} still hold an example password "
            "(see .env.example); set real secrets"
        )


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """A Redis URL without its user and password, and those apart (`{"password": …}`)."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url, {}
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6
    netloc = f"{host}:{parts.port}" if parts.port else host
    credentials = {}
    if parts.username:
        credentials["username"] = unquote(parts.username)
    if parts.password is not None:
        credentials["password"] = unquote(parts.password)
    return urlunsplit(parts._replace(netloc=netloc)), credentials


@dataclass(frozen=True)
class Settings:
    """The configuration of every process; see .env.example for what each one means."""

    telegram_bot_token: str = field(default=SANDBOX_TOKEN, repr=False)
    telegram_api_url: str = "https://api.telegram.org"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Redis Sentinel: when sentinels are set they replace redis_url everywhere (core.redisconn).
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    redis_sentinel_master: str = "pedidos"
    redis_password: str = field(default="", repr=False)
    redis_sentinel_password: str = field(default="", repr=False)
    redis_db: int = 0
    # How long a client keeps looking for a master (a failover) before a command fails.
    redis_failover_timeout: float = 30.0
    # Before the customer is told an order is placed, this many replicas must hold it
    # (Redis WAIT), at most redis_wait_timeout; see README, "Redis with Sentinel".
    redis_wait_replicas: int = 1
    redis_wait_timeout: float = 0.5
    admin_chat_ids: tuple[int, ...] = ()
    # The people who may use admin commands (core.admins): user ids, never a group's members.
    admin_user_ids: tuple[int, ...] = ()
    stale_after: float = 24 * 3600.0
    watch_interval: float = 3600.0
    step_seconds: float = 2.0
    # A guided /pedido left unanswered this long is dropped.
    conversation_timeout: float = 600.0
    media_dir: str = "var/media"
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    # Loopback unless told otherwise: a proxy on the same host reaches it, nothing else does
    # (the compose file sets 0.0.0.0 inside the container, for the proxy's network).
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    payment_api_url: str = ""
    payment_timeout: float = 5.0
    # Telegram's documented flood limits (core.ratelimit keeps every process under them).
    rate_global_per_second: float = 30.0
    rate_chat_per_second: float = 1.0
    rate_chat_burst: int = 3
    rate_group_per_minute: float = 20.0
    # Celery: a message not acked within this time goes back to the queue (the broker's own
    # last resort when a worker dies; core.recovery acts long before). No countdown ever
    # reaches the broker (waits go to the schedule in Redis), so nothing waits past it.
    visibility_timeout: float = 3600.0
    retry_backoff_max: float = 60.0
    # A running task's lease on its order, photo job or message: renewed every quarter of
    # it, it expires this long after its worker died, and the sweep sends the task again.
    task_lease: float = 15.0
    # How often the one active sweeper recovers expired leases and sends due waits.
    sweep_interval: float = 1.0
    # A task whose runs died this many times in a row (e.g. an image that kills its pool
    # process) is not tried again: the job fails and the chat is told.
    task_max_crashes: int = 3
    log_format: str = "kv"
    log_level: str = "INFO"
    health_port: int = 0
    # Webhook mode: how many connections Telegram may open at once (1-100) to each bot.
    webhook_max_connections: int = 40
    # Polling liveness: the bot touches this file every interval; `python -m bot.health`
    # calls it dead when the file is older than three intervals.
    heartbeat_file: str = os.path.join(tempfile.gettempdir(), "pedidos-bot.heartbeat")
    heartbeat_interval: float = 10.0
    # Per-user quotas (core.quotas): orders per minute, photos per hour.
    quota_orders_per_minute: int = 10
    quota_photos_per_hour: int = 30
    # Retention (core.retention): finished orders and photo jobs, renditions on disk.
    order_retention: float = 90 * 86400.0
    media_retention: float = 7 * 86400.0
    retention_interval: float = 3600.0
    # Dead letters kept for /entregas; beyond this the oldest are dropped (and counted).
    dead_letters_max: int = 1000
    # How long the bot waits in a handler for a chat's slot before handing the reply over
    # to the workers' delivery queue (so one busy chat never holds an update slot).
    reply_max_wait: float = 1.0
    # Staff alerts (core.staff): an unanswered stale-order alert is repeated every
    # ESCALATE_AFTER, at most ESCALATE_REPEATS times, then goes to the escalation chats.
    escalate_after: float = 2 * 3600.0
    escalate_repeats: int = 2
    escalation_chat_ids: tuple[int, ...] = ()
    snooze_for: float = 3600.0
    # CSV imports (core.importer): files past either limit are refused with a clear message.
    import_max_rows: int = 50_000
    import_max_bytes: int = 10 * 1024**2
    # Reports (core.reports): days are calendar days in this zone; the daily summary is sent
    # at DAILY_REPORT_AT there ("HH:MM", or a five-field crontab; "off" sends none).
    report_timezone: str = "UTC"
    daily_report_at: str = "08:00"

    @property
    def bot_api_base(self) -> str:
        """Root of Bot API method calls, without the token: `{url}/bot`."""
        return f"{self.telegram_api_url.rstrip('/')}/bot"

    @property
    def bot_file_base(self) -> str:
        """Root of file downloads, without the token: `{url}/file/bot`."""
        return f"{self.telegram_api_url.rstrip('/')}/file/bot"

    @property
    def webhook_mode(self) -> bool:
        return bool(self.webhook_url)

    def problems(self) -> list[str]:
        """What in these settings would break recovery's guarantees (empty when none)."""
        found = []
        if self.visibility_timeout < 2 * LONGEST_TASK:
            found.append(
                f"VISIBILITY_TIMEOUT={self.visibility_timeout:g}s must be at least "
                f"{2 * LONGEST_TASK}s (twice the longest task time limit, {LONGEST_TASK}s): "
                "a message still running when it expires is delivered to a second worker"
            )
        if self.task_lease < 4:
            found.append(f"TASK_LEASE={self.task_lease:g}s must be at least 4s")
        if self.task_lease >= self.visibility_timeout:
            found.append("TASK_LEASE must be shorter than VISIBILITY_TIMEOUT")
        if not 0 < self.sweep_interval <= self.task_lease / 2:
            found.append(
                f"SWEEP_INTERVAL={self.sweep_interval:g}s must be above 0 and at most half "
                f"of TASK_LEASE ({self.task_lease:g}s)"
            )
        if self.task_max_crashes < 1:
            found.append("TASK_MAX_CRASHES must be at least 1")
        return found

    def validated(self) -> Settings:
        """These settings, or SettingsError naming every unsafe one."""
        found = self.problems()
        if found:
            raise SettingsError("unsafe settings: " + "; ".join(found))
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables (unset ones keep their defaults)."""
        env = os.environ if env is None else env
        defaults = cls()

        def get(name: str, default: str) -> str:
            value = env.get(name, "")
            return value if value.strip() else default

        return cls(
            telegram_bot_token=get("TELEGRAM_BOT_TOKEN", defaults.telegram_bot_token),
            telegram_api_url=get("TELEGRAM_API_URL", defaults.telegram_api_url),
            redis_url=get("REDIS_URL", defaults.redis_url),
            redis_sentinels=parse_hosts(get("REDIS_SENTINELS", "")),
            redis_sentinel_master=get("REDIS_SENTINEL_MASTER", defaults.redis_sentinel_master),
            redis_password=get("REDIS_PASSWORD", ""),
            redis_sentinel_password=get("REDIS_SENTINEL_PASSWORD", ""),
            redis_db=int(get("REDIS_DB", "0")),
            redis_failover_timeout=parse_duration(get("REDIS_FAILOVER_TIMEOUT", "30s")),
            redis_wait_replicas=int(get("REDIS_WAIT_REPLICAS", "1")),
            redis_wait_timeout=parse_duration(get("REDIS_WAIT_TIMEOUT", "500ms")),
            admin_chat_ids=_int_list(get("ADMIN_CHAT_IDS", "")),
            admin_user_ids=_int_list(get("ADMIN_USER_IDS", "")),
            stale_after=parse_duration(get("STALE_AFTER", "24h")),
            watch_interval=parse_duration(get("WATCH_INTERVAL", "1h")),
            step_seconds=parse_duration(get("STEP_SECONDS", "2")),
            conversation_timeout=parse_duration(get("CONVERSATION_TIMEOUT", "10m")),
            media_dir=get("MEDIA_DIR", defaults.media_dir),
            webhook_url=get("WEBHOOK_URL", ""),
            webhook_secret=get("WEBHOOK_SECRET", ""),
            webhook_listen=get("WEBHOOK_LISTEN", defaults.webhook_listen),
            webhook_port=int(get("WEBHOOK_PORT", str(defaults.webhook_port))),
            payment_api_url=get("PAYMENT_API_URL", ""),
            payment_timeout=parse_duration(get("PAYMENT_TIMEOUT", "5s")),
            rate_global_per_second=float(get("RATE_GLOBAL_PER_SECOND", "30")),
            rate_chat_per_second=float(get("RATE_CHAT_PER_SECOND", "1")),
            rate_chat_burst=int(get("RATE_CHAT_BURST", "3")),
            rate_group_per_minute=float(get("RATE_GROUP_PER_MINUTE", "20")),
            visibility_timeout=parse_duration(get("VISIBILITY_TIMEOUT", "1h")),
            retry_backoff_max=parse_duration(get("RETRY_BACKOFF_MAX", "60s")),
            task_lease=parse_duration(get("TASK_LEASE", "15s")),
            sweep_interval=parse_duration(get("SWEEP_INTERVAL", "1s")),
            task_max_crashes=int(get("TASK_MAX_CRASHES", "3")),
            log_format=get("LOG_FORMAT", defaults.log_format),
            log_level=get("LOG_LEVEL", defaults.log_level).upper(),
            health_port=int(get("HEALTH_PORT", "0")),
            webhook_max_connections=int(
                get("WEBHOOK_MAX_CONNECTIONS", str(defaults.webhook_max_connections))
            ),
            heartbeat_file=get("HEARTBEAT_FILE", defaults.heartbeat_file),
            heartbeat_interval=parse_duration(get("HEARTBEAT_INTERVAL", "10s")),
            quota_orders_per_minute=int(get("QUOTA_ORDERS_PER_MINUTE", "10")),
            quota_photos_per_hour=int(get("QUOTA_PHOTOS_PER_HOUR", "30")),
            order_retention=parse_duration(get("ORDER_RETENTION", "90d")),
            media_retention=parse_duration(get("MEDIA_RETENTION", "7d")),
            retention_interval=parse_duration(get("RETENTION_INTERVAL", "1h")),
            dead_letters_max=int(get("DEAD_LETTERS_MAX", "1000")),
            reply_max_wait=parse_duration(get("REPLY_MAX_WAIT", "1s")),
            escalate_after=parse_duration(get("ESCALATE_AFTER", "2h")),
            escalate_repeats=int(get("ESCALATE_REPEATS", str(defaults.escalate_repeats))),
            escalation_chat_ids=_int_list(get("ESCALATION_CHAT_IDS", "")),
            snooze_for=parse_duration(get("SNOOZE_FOR", "1h")),
            import_max_rows=int(get("IMPORT_MAX_ROWS", str(defaults.import_max_rows))),
            import_max_bytes=parse_size(get("IMPORT_MAX_BYTES", "10MB")),
            report_timezone=get("REPORT_TIMEZONE", defaults.report_timezone),
            daily_report_at=get("DAILY_REPORT_AT", defaults.daily_report_at),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use.

    Every process (bot, worker, beat) refuses to start with unsafe ones (SettingsError).
    """
    return Settings.from_env().validated()
