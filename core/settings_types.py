"""The shapes of settings variables: durations, sizes, id and host lists, as text parsed into
typed values (core.settings declares which variable has which shape)."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import AfterValidator, BeforeValidator, SecretStr
from pydantic_settings import NoDecode

from core.payments.zones import Zone, parse_zones

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


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


def parse_ids(text: str) -> tuple[int, ...]:
    """Ids from `7, 8 -100900` (commas or spaces)."""
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


PAYMENT_METHODS = ("telegram", "stars", "cash")


def parse_methods(text: str) -> tuple[str, ...]:
    """Payment methods from `telegram, stars, cash` (commas or spaces; none: payments off)."""
    methods = tuple(part.lower() for part in re.split(r"[,\s]+", text.strip()) if part)
    unknown = [m for m in methods if m not in PAYMENT_METHODS]
    if unknown:
        raise ValueError(
            f"unknown payment method {unknown[0]!r} (use {', '.join(PAYMENT_METHODS)})"
        )
    return tuple(dict.fromkeys(methods))


def _from_text(parse: Any) -> BeforeValidator:
    """Variables are text: parse it; values given in code (`Settings(stale_after=60)`) pass."""
    return BeforeValidator(lambda value: parse(value) if isinstance(value, str) else value)


# The shapes of the variables. NoDecode: a list is `7, 8`, not the JSON pydantic-settings
# would otherwise expect of a tuple.
Seconds = Annotated[float, _from_text(parse_duration)]
# A duration or "off" (0: never).
OptionalSeconds = Annotated[
    float, _from_text(lambda v: 0.0 if v.strip().lower() in ("off", "0", "") else parse_duration(v))
]
Bytes = Annotated[int, _from_text(parse_size)]
# A chat that may be unset: blank (dropped by the settings source) or 0 is None.
OptionalChat = Annotated[
    int | None, BeforeValidator(lambda value: None if value in (0, "0") else value)
]
Ids = Annotated[tuple[int, ...], NoDecode, _from_text(parse_ids)]
Hosts = Annotated[tuple[tuple[str, int], ...], NoDecode, _from_text(parse_hosts)]
Methods = Annotated[tuple[str, ...], NoDecode, _from_text(parse_methods)]
Zones = Annotated[tuple[Zone, ...], NoDecode, _from_text(parse_zones)]
Level = Annotated[str, AfterValidator(str.upper)]


def parse_currency(text: str) -> str:
    """An ISO 4217 code a shop may price in (or XTR, Telegram Stars), upper case."""
    # Imported here: core.money reads its currency table, which settings need only for this.
    from core.money import MoneyError, currency

    try:
        return currency(text).code
    except MoneyError:
        raise ValueError(
            f"unknown currency: {text!r} (an ISO 4217 code such as EUR, or XTR)"
        ) from None


CurrencyCode = Annotated[str, AfterValidator(parse_currency)]


def check_hours(text: str) -> str:
    """SHOP_HOURS as given, once it reads (core.shophours.schedule says how)."""
    from core.shophours.schedule import ScheduleError, parse_hours

    try:
        parse_hours(text)
    except ScheduleError as exc:
        raise ValueError(str(exc).removeprefix("SHOP_HOURS: ")) from None
    return text.strip()


def check_zone(text: str) -> str:
    """An IANA time zone name (`Europe/Madrid`), or "" for the default."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if text.strip():
        try:
            ZoneInfo(text.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone: {text!r} (use e.g. Europe/Madrid)") from None
    return text.strip()


HoursText = Annotated[str, AfterValidator(check_hours)]
ZoneName = Annotated[str, AfterValidator(check_zone)]
NO_SECRET = SecretStr("")


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """A Redis (or database) URL without its user and password, and those apart
    (`{"password": …}`)."""
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
