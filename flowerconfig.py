"""Flower's options, read by `celery -A tasks flower` from the working directory.

Flower takes everything else from FLOWER_* environment variables (FLOWER_BASIC_AUTH=user:pass)
or its command line; this file makes it log like every other process (our format, our level,
the token masked), and refuses to serve anywhere but loopback without a login: Flower shows
every task and worker, and can revoke tasks and shut workers down.

Flower reads its command line and environment before this file (and the command line again
after it), so `options` here already holds the address asked for.
"""

import ipaddress

from tornado.options import options as _options

from core.logs import configure_logging
from core.settings import get_settings


def _loopback(address: str) -> bool:
    """Whether Flower would listen on this machine only ('' is every interface)."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _has_login() -> bool:
    """A `user:password` basic-auth login with both parts, or an OAuth provider."""
    logins = [login for login in (_options.basic_auth or []) if login]
    if logins:
        return all(":" in login and all(login.split(":", 1)) for login in logins)
    return bool(_options.auth and _options.auth_provider)


if not (_options.unix_socket or _loopback(_options.address) or _has_login()):
    raise SystemExit(
        f"flower: refusing to listen on {_options.address or 'every interface'} without a "
        "login: set FLOWER_BASIC_AUTH=user:password, or listen on --address=127.0.0.1"
    )

_settings = get_settings()
configure_logging(
    _settings.log_level, _settings.log_format, _settings.telegram_bot_token.get_secret_value()
)

# Tornado's `--logging` option sets the root logger's level once this file is read: LOG_LEVEL.
logging = _settings.log_level.lower()
