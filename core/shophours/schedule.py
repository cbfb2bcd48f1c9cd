"""SHOP_HOURS as a weekly schedule: `mon-fri 09:00-21:00; sat 10:00-14:00`.

Groups are separated by `;`: days, then one or more ranges separated by `,`. Days are
`mon`..`sun` (or `lun`..`dom`), a list `sat,sun` or a range `mon-fri` (`fri-mon` wraps the
week). A range `HH:MM-HH:MM` ends at `24:00` at the latest; one that ends at or before its
start runs overnight into the next day (`fri 20:00-02:00` is Friday 20:00 to Saturday 02:00).
An empty text is a shop that never closes. Anything else is a ScheduleError naming the part
that does not read, raised at start-up (core.settings) rather than at the first order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

DAY_MINUTES = 24 * 60
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPANISH = ("lun", "mar", "mie", "jue", "vie", "sab", "dom")
_DAYS = {name: i for names in (DAY_NAMES, _SPANISH) for i, name in enumerate(names)}
_DAYS.update({"mié": 2, "sáb": 5})
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class ScheduleError(ValueError):
    """SHOP_HOURS does not read; the message says which part and what is expected."""


@dataclass(frozen=True, order=True)
class Span:
    """Open on weekday `day` (0 Monday) from minute `start` to minute `end` (at most 1440)."""

    day: int
    start: int
    end: int


@dataclass(frozen=True)
class Schedule:
    """The weekly opening hours: spans per weekday, merged and sorted; none: always open."""

    spans: tuple[Span, ...]

    @property
    def always_open(self) -> bool:
        return not self.spans

    def of_day(self, weekday: int) -> tuple[Span, ...]:
        return tuple(span for span in self.spans if span.day == weekday)


def _days(text: str, group: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        if first not in _DAYS or (dash and last not in _DAYS):
            raise ScheduleError(
                f"SHOP_HOURS: {part.strip()!r} in {group!r} is not a day "
                "(use mon, tue, wed, thu, fri, sat, sun, or a range such as mon-fri)"
            )
        start = _DAYS[first]
        end = _DAYS[last] if dash else start
        days += [(start + i) % 7 for i in range((end - start) % 7 + 1)]
    return days


def _minutes(hours: str, minutes: str, text: str, group: str) -> int:
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > DAY_MINUTES:
        raise ScheduleError(f"SHOP_HOURS: {text!r} in {group!r} is not a time (00:00 to 24:00)")
    return value


def _ranges(text: str, group: str) -> list[tuple[int, int]]:
    found = []
    for part in text.split(","):
        match = _RANGE.match(part.strip())
        if not match:
            raise ScheduleError(
                f"SHOP_HOURS: {part.strip()!r} in {group!r} is not a range (use e.g. 09:00-21:00)"
            )
        start = _minutes(match[1], match[2], part.strip(), group)
        end = _minutes(match[3], match[4], part.strip(), group)
        if start in (DAY_MINUTES, end):
            raise ScheduleError(f"SHOP_HOURS: {part.strip()!r} in {group!r} is an empty range")
        found.append((start, end))
    return found


def _spans(day: int, start: int, end: int) -> list[Span]:
    if end > start:
        return [Span(day, start, end)]
    # Overnight: to midnight, then the next day from midnight (end 00:00 is just midnight).
    spans = [Span(day, start, DAY_MINUTES)]
    return spans + ([Span((day + 1) % 7, 0, end)] if end else [])


def _merged(spans: list[Span]) -> tuple[Span, ...]:
    merged: list[Span] = []
    for span in sorted(spans):
        last = merged[-1] if merged else None
        if last is not None and last.day == span.day and span.start <= last.end:
            merged[-1] = Span(last.day, last.start, max(last.end, span.end))
        else:
            merged.append(span)
    return tuple(merged)


@lru_cache(maxsize=8)
def parse_hours(text: str) -> Schedule:
    """The schedule SHOP_HOURS describes (module doc); ScheduleError when it does not read."""
    spans: list[Span] = []
    for group in (g.strip() for g in text.lower().split(";")):
        if not group:
            continue
        days, _, ranges = group.partition(" ")
        if not ranges.strip():
            raise ScheduleError(
                f"SHOP_HOURS: {group!r} needs days and hours (e.g. mon-fri 09:00-21:00)"
            )
        for day in _days(days, group):
            for start, end in _ranges(ranges.replace(" ", ""), group):
                spans += _spans(day, start, end)
    return Schedule(_merged(spans))
