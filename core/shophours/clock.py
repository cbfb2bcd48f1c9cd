"""Time counted in opening hours: whether the shop is open, when it next opens, the instant
N seconds of open time after another, and back.

Open intervals are made day by day from the schedule's wall-clock spans in the shop's zone
(zoneinfo), as epoch seconds: a day when the clocks go forward has an hour less of opening
if its hours span the change, one when they go back an hour more; a time the change skips
(02:30 on a spring-forward night) is read as after the gap. Durations are real elapsed seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.shophours.schedule import DAY_MINUTES, Schedule, parse_hours

# A weekly schedule opens at least once in any 8 days; a search never looks further.
SEARCH_DAYS = 9
Interval = tuple[float, float]


@dataclass(frozen=True)
class ShopClock:
    """The shop's opening hours in its zone, and time counted in them."""

    schedule: Schedule
    zone: ZoneInfo

    @classmethod
    def of(cls, hours: str, zone: str) -> ShopClock:
        return cls(parse_hours(hours), ZoneInfo(zone))

    @property
    def always_open(self) -> bool:
        return self.schedule.always_open

    def _instant(self, day: date, minute: int) -> float:
        if minute >= DAY_MINUTES:
            day, minute = day + timedelta(days=1), minute - DAY_MINUTES
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        return local.timestamp()

    def _day(self, day: date) -> list[Interval]:
        return [
            (self._instant(day, span.start), self._instant(day, span.end))
            for span in self.schedule.of_day(day.weekday())
        ]

    def _local_date(self, at: float) -> date:
        return datetime.fromtimestamp(at, self.zone).date()

    def forward(self, at: float) -> Iterator[Interval]:
        """The open intervals that end after `at`, in order, clipped to start at `at`."""
        first = self._local_date(at) - timedelta(days=1)
        for offset in range(SEARCH_DAYS + 1):
            for start, end in self._day(first + timedelta(days=offset)):
                if end > at:
                    yield max(start, at), end

    def backward(self, at: float) -> Iterator[Interval]:
        """The open intervals that start before `at`, latest first, clipped to end at `at`."""
        last = self._local_date(at) + timedelta(days=1)
        for offset in range(SEARCH_DAYS + 1):
            for start, end in reversed(self._day(last - timedelta(days=offset))):
                if start < at:
                    yield start, min(end, at)

    def is_open(self, at: float) -> bool:
        return self.next_opening(at) == at

    def next_opening(self, at: float) -> float:
        """`at` when the shop is open then, else when it next opens."""
        if self.always_open:
            return at
        for start, _end in self.forward(at):
            return start
        raise AssertionError("a schedule with hours opens within a week")

    def add(self, start: float, seconds: float) -> float:
        """The instant when `seconds` of open time have passed since `start`."""
        if self.always_open:
            return start + seconds
        left = seconds
        while True:
            # Each pass looks SEARCH_DAYS ahead: a deadline weeks long takes several.
            at = start
            for begin, end in self.forward(start):
                if end - begin >= left:
                    return begin + left
                left -= end - begin
                at = end
            start = at

    def rewind(self, now: float, seconds: float) -> float:
        """The latest start whose `seconds` of open time have all passed by `now` (a start at
        or before it is due): the inverse of `add`."""
        if self.always_open:
            return now - seconds
        left = seconds
        while True:
            at = now
            for begin, end in self.backward(now):
                if end - begin >= left:
                    return end - left
                left -= end - begin
                at = begin
            now = at

    def open_between(self, start: float, end: float) -> float:
        """Seconds of open time in [start, end)."""
        if self.always_open:
            return max(0.0, end - start)
        total = 0.0
        while start < end:
            at = start
            for begin, finish in self.forward(start):
                if begin >= end:
                    return total
                total += min(finish, end) - begin
                at = finish
            start = at
        return total


def shop_clock(hours: str, zone: str, fallback_zone: str = "UTC") -> ShopClock:
    """The clock of SHOP_HOURS in SHOP_TIMEZONE (blank: `fallback_zone`, REPORT_TIMEZONE)."""
    return ShopClock.of(hours, zone or fallback_zone)
