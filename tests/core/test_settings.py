"""Settings are declared once (core.settings.Settings): each variable's shape is parsed as
documented, secrets stay hidden, and .env.example and the README list every variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.settings import HOUR, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
VARIABLES = {name.upper() for name in Settings.model_fields}


def test_each_shape_reads_as_documented() -> None:
    settings = Settings.from_env(
        {
            "STALE_AFTER": "90s",
            "WATCH_INTERVAL": "15m",
            "ORDER_RETENTION": "7d",
            "REDIS_WAIT_TIMEOUT": "250ms",
            "STEP_SECONDS": "0",
            "IMPORT_MAX_BYTES": "512KB",
            "ADMIN_USER_IDS": "7, 8",
            "ESCALATION_CHAT_IDS": "-100900 -100901",
            "REDIS_SENTINELS": "10.0.0.1, 10.0.0.2:26380",
            "LOG_LEVEL": "debug",
            "RATE_GLOBAL_PER_SECOND": "29.5",
        }
    )
    assert settings.stale_after == 90 and settings.watch_interval == 15 * 60
    assert settings.order_retention == 7 * 24 * HOUR and settings.redis_wait_timeout == 0.25
    assert settings.step_seconds == 0 and settings.import_max_bytes == 512 * 1024
    assert settings.admin_user_ids == (7, 8)
    assert settings.escalation_chat_ids == (-100900, -100901)
    assert settings.redis_sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26380))
    assert settings.log_level == "DEBUG" and settings.rate_global_per_second == 29.5


def test_shop_settings_read_and_check_the_currency() -> None:
    settings = Settings.from_env(
        {"SHOP_CURRENCY": "clp", "MIN_ORDER": "1500", "CART_TTL": "12h", "CATALOG_FILE": "x.csv"}
    )
    assert settings.shop_currency == "CLP" and settings.min_order == 1500
    assert settings.cart_ttl == 12 * HOUR and settings.catalog_file == "x.csv"
    assert Settings().shop_currency == "EUR" and Settings().cart_ttl == 48 * HOUR
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"SHOP_CURRENCY": "EURO", "MIN_ORDER": "-5"})
    assert "SHOP_CURRENCY: Value error, unknown currency: 'EURO'" in str(refused.value)
    assert "MIN_ORDER:" in str(refused.value)


def test_unset_or_blank_variables_keep_their_defaults() -> None:
    given = Settings.from_env({"MEDIA_DIR": "  ", "HEARTBEAT_FILE": "", "UNRELATED": "x"})
    assert given == Settings()
    assert Settings().stale_after == 24 * HOUR and Settings().import_max_bytes == 10 * 1024**2


def test_a_value_that_does_not_parse_is_named_with_why() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"STALE_AFTER": "soon", "REDIS_DB": "x", "WEBHOOK_PORT": "8443"})
    message = str(refused.value)
    assert "STALE_AFTER: Value error, not a duration: 'soon'" in message
    assert "REDIS_DB:" in message and "WEBHOOK_PORT" not in message


def test_secrets_are_hidden_but_usable() -> None:
    settings = Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": "42:Real-Token",
            "REDIS_URL": "redis://:Redis-Pass@redis:6379/0",
            "REDIS_PASSWORD": "Redis-Pass",
            "WEBHOOK_SECRET": "Hook-Secret",
        }
    )
    shown = repr(settings) + str(settings)
    for secret in ("Real-Token", "Redis-Pass", "Hook-Secret"):
        assert secret not in shown
    assert settings.telegram_bot_token == SecretStr("42:Real-Token")
    assert settings.telegram_bot_token.get_secret_value() == "42:Real-Token"


def documented_in_readme() -> set[str]:
    """The variables in the first column of the README's settings table."""
    section = (ROOT / "README.md").read_text().split("\n## Settings\n", 1)[1].split("\n## ")[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z_]+\*?)`", row)}


def test_env_example_and_the_readme_document_every_setting() -> None:
    example = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert example >= VARIABLES, sorted(VARIABLES - example)
    readme = documented_in_readme()
    prefixes = tuple(name[:-1] for name in readme if name.endswith("*"))
    missing = {name for name in VARIABLES - readme if not name.startswith(prefixes)}
    assert not missing, sorted(missing)
    # Nothing documented that is not read, but Redis's own cap (Procfile, compose).
    stray = {name for name in readme if not name.endswith("*")} - VARIABLES
    assert stray == {"REDIS_MAXMEMORY"}
