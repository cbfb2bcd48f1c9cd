"""Which days a report covers: `/informe [semana|mes|desde [hasta]]`, calendar days in a time
zone (the shop's: SHOP_TIMEZONE, else REPORT_TIMEZONE)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.settings import Settings

DEFAULT_DAYS = 7
MAX_DAYS = 366
# `/informe semana` is this week from its Monday, `mes` this month from its first day, both
# up to today (the Monday job sends the whole week before: `last_week`).
NAMED = {"semana": "week", "week": "week", "mes": "month", "month": "month"}


class PeriodError(ValueError):
    """Why the dates were refused; `key` and `values` pick the message."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Period:
    """Days `first` to `last`, both included, in `zone`."""

    first: date
    last: date
    zone: str

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def bounds(self) -> tuple[float, float]:
        """[start, end) as Unix timestamps: midnight of `first` to midnight after `last`."""
        tz = ZoneInfo(self.zone)
        start = datetime.combine(self.first, time(), tz)
        end = datetime.combine(self.last + timedelta(days=1), time(), tz)
        return start.timestamp(), end.timestamp()

    def day_of(self, timestamp: float) -> date:
        return datetime.fromtimestamp(timestamp, ZoneInfo(self.zone)).date()


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodError("bad_date", value=value) from None


def parse_period(words: list[str], today: date, zone: str) -> Period:
    """No dates: the last DEFAULT_DAYS days; one: that day; two: from the first to the second;
    `semana` / `mes`: this week or month so far."""
    if not words:
        return Period(today - timedelta(days=DEFAULT_DAYS - 1), today, zone)
    named = NAMED.get(words[0].lower())
    if named == "week":
        return Period(today - timedelta(days=today.weekday()), today, zone)
    if named == "month":
        return Period(today.replace(day=1), today, zone)
    first = _day(words[0])
    last = _day(words[1]) if len(words) > 1 else first
    if first > last:
        raise PeriodError("bad_order", start=first.isoformat(), end=last.isoformat())
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError("too_long", max=MAX_DAYS)
    return Period(first, last, zone)


def today_in(zone: str, now: float) -> date:
    return datetime.fromtimestamp(now, ZoneInfo(zone)).date()


def last_week(today: date, zone: str) -> Period:
    """Monday to Sunday of the week before `today`'s: what the Monday job reports."""
    monday = today - timedelta(days=today.weekday() + 7)
    return Period(monday, monday + timedelta(days=6), zone)


def shop_zone(settings: Settings) -> str:
    """The shop's time zone: SHOP_TIMEZONE, or REPORT_TIMEZONE when it is blank."""
    return settings.shop_timezone or settings.report_timezone
