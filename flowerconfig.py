"""Flower's options, read by `celery -A tasks flower` from the working directory.

Flower takes everything else from FLOWER_* environment variables (FLOWER_BASIC_AUTH=user:pass)
or its command line; this file makes it log like every other process: our format, our level,
the token masked.
"""

from core.logs import configure_logging
from core.settings import get_settings

_settings = get_settings()
configure_logging(
    _settings.log_level, _settings.log_format, _settings.telegram_bot_token.get_secret_value()
)

# Tornado's `--logging` option sets the root logger's level once this file is read: LOG_LEVEL.
logging = _settings.log_level.lower()
