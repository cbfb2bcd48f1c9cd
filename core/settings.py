"""Every setting, declared once (name, type, default: `Settings`) and read from the environment
into one typed object. Secrets are `SecretStr`: no repr, log line or traceback shows them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# Shapes: core.settings_types (parsers re-exported for callers); receipts, workers: settings_*.
from core.settings_quotas import QuotaSettings
from core.settings_receipts import ReceiptSettings
from core.settings_types import (
    NO_SECRET,
    Bytes,
    CurrencyCode,
    Hosts,
    HoursText,
    Ids,
    Level,
    Methods,
    OptionalChat,
    OptionalSeconds,
    Seconds,
    ZoneName,
    Zones,
)
from core.settings_types import parse_duration as parse_duration
from core.settings_types import parse_hosts as parse_hosts
from core.settings_types import parse_ids as parse_ids
from core.settings_types import parse_size as parse_size
from core.settings_types import split_credentials as split_credentials
from core.settings_worker import WorkerSettings

SANDBOX_TOKEN = "123456789:sandbox-token"
# The longest any task may run before Celery kills it (the watcher's run has its own, longer
# limit, core.watcher.watch.RUN_TIME_LIMIT). A message is redelivered after VISIBILITY_TIMEOUT even
# while its task still runs, so the timeout must outlast every limit.
TASK_TIME_LIMIT = 300
LONGEST_TASK = 600
HOUR = 3600.0
DAY = 24 * HOUR


class SettingsError(ValueError):
    """Settings that would break a guarantee; the message names them and says why."""


class Settings(ReceiptSettings, WorkerSettings, QuotaSettings):
    """The configuration of every process: each field is the variable of its name in capitals
    (see .env.example for what each one means).

    `Settings(field=value, ...)` is the defaults with those values (nothing read);
    `Settings.from_env()` reads the environment, and get_settings() is the process's own.
    """

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    telegram_bot_token: SecretStr = SecretStr(SANDBOX_TOKEN)
    # The system of record (core.db): a SQLAlchemy URL; may carry a password, kept out of repr.
    database_url: str = Field(default="sqlite:///var/pedidos.db", repr=False)
    telegram_api_url: str = "https://api.telegram.org"
    # Carries Redis's password (compose builds it so): kept out of repr.
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", repr=False)
    # Redis Sentinel: when sentinels are set they replace redis_url everywhere (core.redisconn).
    redis_sentinels: Hosts = ()
    redis_sentinel_master: str = "pedidos"
    redis_password: SecretStr = NO_SECRET
    redis_sentinel_password: SecretStr = NO_SECRET
    redis_db: int = 0
    # How long a client keeps looking for a master (a failover) before a command fails.
    redis_failover_timeout: Seconds = 30.0
    # Before the customer is told an order is placed, this many replicas must hold it
    # (Redis WAIT), at most redis_wait_timeout; see README, "Redis with Sentinel".
    redis_wait_replicas: int = 1
    redis_wait_timeout: Seconds = 0.5
    admin_chat_ids: Ids = ()
    # The people who may use admin commands (core.admins): user ids, never a group's members.
    admin_user_ids: Ids = ()
    stale_after: Seconds = DAY
    watch_interval: Seconds = HOUR
    step_seconds: Seconds = 2.0
    # A guided /pedido left unanswered this long is dropped.
    conversation_timeout: Seconds = 600.0
    media_dir: str = "var/media"
    webhook_url: str = ""
    webhook_secret: SecretStr = NO_SECRET
    # Loopback unless told otherwise: a proxy on the same host reaches it, nothing else does
    # (the compose file sets 0.0.0.0 inside the container, for the proxy's network).
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    payment_api_url: str = ""
    payment_api_token: SecretStr = NO_SECRET
    payment_timeout: Seconds = 5.0
    # Telegram's documented flood limits (core.telegram.rate_limiter keeps every process to them).
    rate_global_per_second: float = 30.0
    rate_chat_per_second: float = 1.0
    rate_chat_burst: int = 3
    rate_group_per_minute: float = 20.0
    # Celery: a message not acked within this time goes back to the queue (the broker's own
    # last resort when a worker dies; core.recovery acts long before). No countdown ever
    # reaches the broker (waits go to the schedule in Redis), so nothing waits past it.
    visibility_timeout: Seconds = HOUR
    retry_backoff_max: Seconds = 60.0
    # A running task's lease on its order, photo job or message: renewed every quarter of
    # it, it expires this long after its worker died, and the sweep sends the task again.
    task_lease: Seconds = 15.0
    # How often the one active sweeper recovers expired leases and sends due waits.
    sweep_interval: Seconds = 1.0
    # A task whose runs died this many times in a row (e.g. an image that kills its pool
    # process) is not tried again: the job fails and the chat is told.
    task_max_crashes: int = 3
    log_format: str = "kv"
    log_level: Level = "INFO"
    health_port: int = 0
    # Prometheus (core.metrics): the bot's /metrics is on its health port; 0 = no port.
    metrics_enabled: bool = True
    metrics_listen: str = "127.0.0.1"
    worker_metrics_port: int = 0
    beat_metrics_port: int = 0
    # Webhook mode: how many connections Telegram may open at once (1-100) to each bot.
    webhook_max_connections: int = 40
    # Polling liveness: the bot touches this file every interval; `python -m bot.health`
    # calls it dead when the file is older than three intervals.
    heartbeat_file: str = os.path.join(tempfile.gettempdir(), "pedidos-bot.heartbeat")
    heartbeat_interval: Seconds = 10.0
    # Retention (core.retention): finished orders ("off", the default, keeps them), never a
    # paid one younger than LEGAL_RETENTION; photo jobs and renditions on disk.
    order_retention: OptionalSeconds = 0.0
    legal_retention: Seconds = 6 * 365 * DAY
    media_retention: Seconds = 7 * DAY
    retention_interval: Seconds = HOUR
    # Backups of the system of record (core.backup): taken at BACKUP_AT ("HH:MM" or a
    # five-field crontab, in REPORT_TIMEZONE; "off": none), the newest BACKUP_KEEP kept.
    backup_dir: str = "var/backups"
    backup_keep: int = 7
    backup_at: str = "02:00"
    # Telegram Payments (core.payments): what the shop accepts (telegram, stars, cash; none:
    # orders are placed "sin cobro"), the provider's token for fiat invoices, how long an
    # invoice may be paid, and the texts of /paysupport and /terms.
    payment_methods: Methods = ()
    payment_provider_token: SecretStr = NO_SECRET
    invoice_ttl: Seconds = 30 * 60.0
    payment_support_text: str = ""
    payment_terms_text: str = ""
    # Where card-paid orders are delivered, and for what (core.payments.zones); none: no
    # shipping address is asked for.
    delivery_zones: Zones = ()
    # Dead letters kept for /entregas; beyond this the oldest are dropped (and counted).
    dead_letters_max: int = 1000
    # How long a handler waits for a busy chat's slot before handing the reply to a worker.
    reply_max_wait: Seconds = 1.0
    # Unanswered stale-order alerts (core.staff): repeated, then sent to the escalation chats.
    escalate_after: Seconds = 2 * HOUR
    escalate_repeats: int = 2
    escalation_chat_ids: Ids = ()
    snooze_for: Seconds = HOUR
    # The staff group (blank or 0: no staff workflow, the timed chain) with its forum topic
    # and its people (core.shopfloor, core.relay; the group's administrators count too).
    staff_chat_id: OptionalChat = None
    staff_thread_id: int = 0
    staff_user_ids: Ids = ()
    # CSV imports (core.importer): files past either limit are refused with a clear message.
    import_max_rows: int = 50_000
    import_max_bytes: Bytes = 10 * 1024**2
    # Reports (core.reports): days are calendar days in this zone; the daily summary is sent
    # at DAILY_REPORT_AT there ("HH:MM", or a five-field crontab; "off" sends none).
    report_timezone: str = "UTC"
    daily_report_at: str = "08:00"
    shop_timezone: ZoneName = ""  # reports, crontabs, opening hours; blank: REPORT_TIMEZONE
    weekly_report_at: str = "0 9 * * mon"  # the weekly PDF to the admin chats (crontab; "off")
    # The shop (core.catalogue): a catalogue CSV loaded at start while the catalogue is empty
    # (its photos beside it, under photos/); the currency of prices that name none; the
    # smallest order total, in minor units; how long an untouched cart is kept.
    catalog_file: str = ""
    shop_currency: CurrencyCode = "EUR"
    min_order: int = Field(default=0, ge=0)
    cart_ttl: Seconds = 2 * DAY
    # The human states' deadlines in open time (core.deadlines), opening hours in
    # SHOP_TIMEZONE (blank: REPORT_TIMEZONE; no hours: always open) and what an order outside
    # them gets (README, Opening hours and deadlines).
    accept_within: Seconds = 10 * 60.0
    ready_within: Seconds = 45 * 60.0
    deliver_within: Seconds = 90 * 60.0
    shop_hours: HoursText = ""
    outside_hours: Literal["take", "refuse"] = "take"
    # Flower's `user:password` logins (Flower reads the variable itself): read here only so
    # that no process starts with an example password in it.
    flower_basic_auth: SecretStr = NO_SECRET

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
        if self.backup_keep < 1:
            found.append("BACKUP_KEEP must be at least 1 (the copy just taken)")
        if (
            "telegram" in self.payment_methods
            and not self.payment_provider_token.get_secret_value()
        ):
            found.append("PAYMENT_METHODS has telegram: PAYMENT_PROVIDER_TOKEN is required")
        return found

    def validated(self) -> Settings:
        """These settings, or SettingsError naming every unsafe one."""
        found = self.problems()
        if found:
            raise SettingsError("unsafe settings: " + "; ".join(found))
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only the values given: the environment is read by from_env, from the mapping it is
        # given, so a test's Settings(...) never depends on the shell it runs in.
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from environment variables (os.environ unless given); unset or blank ones
        keep their defaults. SettingsError names each variable that does not parse."""
        variables = _Variables(cls, os.environ if env is None else env)
        try:
            return cls(**variables())
        except ValidationError as exc:
            raise SettingsError(_unparsed(exc)) from None


class _Variables(EnvSettingsSource):
    """pydantic-settings' reading of variables (names, NoDecode), from a given mapping."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # Names in any case, as before; a blank value is an unset one.
        return {name.lower(): value for name, value in self._env.items() if value.strip()}


def _unparsed(exc: ValidationError) -> str:
    """`NAME: why` for each variable that did not parse (never its value: it may be secret)."""
    found = []
    for error in exc.errors(include_input=False, include_url=False):
        name = str(error["loc"][0]).upper() if error["loc"] else "?"
        found.append(f"{name}: {error['msg']}")
    return "invalid settings: " + "; ".join(found)


# Passwords copied from examples (ours is .env.example's `change-me`): compose's required-
# variable check lets them through, so every process refuses to start with one.
EXAMPLE_SECRETS = frozenset(
    {"change-me", "changeme", "change_me", "password", "secret", "admin", "redis", "example"}
)


def _is_example(secret: str) -> bool:
    return secret.strip().lower() in EXAMPLE_SECRETS


def example_secrets(settings: Settings) -> list[str]:
    """The variables that hold a known example secret instead of a real one."""
    found = []
    if _is_example(split_credentials(settings.redis_url)[1].get("password", "")):
        found.append("REDIS_URL")
    # docker-compose.yml builds it from POSTGRES_PASSWORD.
    if _is_example(split_credentials(settings.database_url)[1].get("password", "")):
        found.append("DATABASE_URL")
    if _is_example(split_credentials(settings.smtp_url.get_secret_value())[1].get("password", "")):
        found.append("SMTP_URL")
    for name in ("redis_password", "redis_sentinel_password", "webhook_secret"):
        secret: SecretStr = getattr(settings, name)
        if _is_example(secret.get_secret_value()):
            found.append(name.upper())
    logins = settings.flower_basic_auth.get_secret_value().split(",")
    if any(_is_example(login.partition(":")[2]) for login in logins if login):
        found.append("FLOWER_BASIC_AUTH")
    return found


def refuse_example_secrets(settings: Settings) -> None:
    """Stop the process (exit status 1, the reason on stderr) when a secret is an example."""
    found = example_secrets(settings)
    if found:
        raise SystemExit(
            f"refusing to start: {', '.join(found)} still hold an example password "
            "(see .env.example); set real secrets"
        )


def prometheus_multiproc_dir() -> str:
    """prometheus-client's own variable (read as it is imported), for workers (README, Metrics)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use.

    Every process (bot, worker, beat) refuses to start with unsafe ones (SettingsError).
    """
    return Settings.from_env().validated()
