"""SHOP_HOURS read into a schedule, and time counted in it: next opening, due times N minutes
of open time later and back, across nights, weekends, overnight ranges and DST changes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.settings import Settings, SettingsError
from core.shophours.clock import ShopClock, shop_clock
from core.shophours.schedule import ScheduleError, Span, parse_hours

MADRID = ZoneInfo("Europe/Madrid")
SHOP = "mon-fri 09:00-21:00; sat 10:00-14:00"
MINUTE = 60.0


def at(*fields: int, zone: ZoneInfo = MADRID) -> float:
    return datetime(*fields, tzinfo=zone).timestamp()  # type: ignore[arg-type, misc]


def local(timestamp: float, zone: ZoneInfo = MADRID) -> str:
    return datetime.fromtimestamp(timestamp, zone).strftime("%a %Y-%m-%d %H:%M")


def test_a_schedule_reads_days_ranges_and_lists() -> None:
    schedule = parse_hours("mon-fri 09:00-14:00, 17:00-21:00; sat,sun 10:00-14:00")
    assert schedule.of_day(0) == (Span(0, 540, 840), Span(0, 1020, 1260))
    assert schedule.of_day(6) == (Span(6, 600, 840),)
    assert parse_hours("LUN-VIE 09:00-21:00") == parse_hours("mon-fri 09:00-21:00")
    # A range of days wraps the week; overlapping ranges merge.
    assert [s.day for s in parse_hours("fri-mon 10:00-11:00").spans] == [0, 4, 5, 6]
    assert parse_hours("mon 09:00-12:00, 11:00-13:00").spans == (Span(0, 540, 780),)


def test_an_overnight_range_runs_into_the_next_day() -> None:
    assert parse_hours("sun 20:00-02:00").spans == (Span(0, 0, 120), Span(6, 1200, 1440))
    assert parse_hours("sat 22:00-00:00").spans == (Span(5, 1320, 1440),)
    assert parse_hours("mon 00:00-24:00").spans == (Span(0, 0, 1440),)


def test_no_hours_is_always_open() -> None:
    clock = ShopClock.of("", "Europe/Madrid")
    now = at(2026, 12, 6, 3, 0)
    assert clock.always_open and clock.is_open(now) and clock.next_opening(now) == now
    assert clock.add(now, 600) == now + 600 and clock.rewind(now, 600) == now - 600


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("mon-fry 09:00-21:00", "'mon-fry' in 'mon-fry 09:00-21:00' is not a day"),
        ("mon 9-21", "'9-21' in 'mon 9-21' is not a range (use e.g. 09:00-21:00)"),
        ("mon 09:00-25:00", "'09:00-25:00' in 'mon 09:00-25:00' is not a time"),
        ("mon 09:60-10:00", "is not a time"),
        ("mon 09:00-09:00", "'09:00-09:00' in 'mon 09:00-09:00' is an empty range"),
        ("mon-fri", "'mon-fri' needs days and hours (e.g. mon-fri 09:00-21:00)"),
    ],
)
def test_bad_hours_are_refused_naming_the_part(text: str, says: str) -> None:
    with pytest.raises(ScheduleError, match="SHOP_HOURS: ") as error:
        parse_hours(text)
    assert says in str(error.value)
    # At start-up: the settings refuse to load, naming the variable.
    with pytest.raises(SettingsError, match=f"SHOP_HOURS: .*{says[:12]}"):
        Settings.from_env({"SHOP_HOURS": text})


def test_next_opening_after_hours_over_the_weekend() -> None:
    clock = ShopClock.of(SHOP, "Europe/Madrid")
    assert local(clock.next_opening(at(2026, 12, 7, 8, 30))) == "Mon 2026-12-07 09:00"
    assert clock.is_open(at(2026, 12, 7, 9, 0)) and not clock.is_open(at(2026, 12, 7, 21, 0))
    assert local(clock.next_opening(at(2026, 12, 11, 22, 0))) == "Sat 2026-12-12 10:00"
    assert local(clock.next_opening(at(2026, 12, 12, 14, 0))) == "Mon 2026-12-14 09:00"


def test_due_time_counts_only_open_time() -> None:
    clock = ShopClock.of(SHOP, "Europe/Madrid")
    # 5 minutes before Saturday's close: 5 more on Monday morning.
    start = at(2026, 12, 12, 13, 55)
    due = clock.add(start, 10 * MINUTE)
    assert local(due) == "Mon 2026-12-14 09:05"
    # An order taken at night counts from the opening.
    assert local(clock.add(at(2026, 12, 8, 23, 30), 10 * MINUTE)) == "Wed 2026-12-09 09:10"
    # rewind is add's inverse: the latest start due by then.
    assert clock.rewind(due, 10 * MINUTE) == start
    assert clock.open_between(start, due) == 10 * MINUTE
    # A deadline longer than the search window still ends.
    # (5 min + 60 h + 4 h + 12 h + 12 h + 11 h 55: Wednesday week.)
    assert local(clock.add(start, 100 * 3600)) == "Wed 2026-12-23 20:55"
    assert clock.rewind(clock.add(start, 100 * 3600), 100 * 3600) == start


def test_rewind_is_the_latest_due_start() -> None:
    clock = ShopClock.of(SHOP, "Europe/Madrid")
    now = at(2026, 12, 14, 9, 3)  # Monday, 3 minutes after opening
    cutoff = clock.rewind(now, 10 * MINUTE)
    assert local(cutoff) == "Sat 2026-12-12 13:53"
    assert clock.add(cutoff, 10 * MINUTE) <= now < clock.add(cutoff + 1, 10 * MINUTE)


def test_spring_forward_loses_an_hour_of_opening() -> None:
    # Europe/Madrid, 2026-03-29: 02:00 becomes 03:00.
    clock = ShopClock.of("sun 00:00-24:00", "Europe/Madrid")
    day = at(2026, 3, 29, 0, 0)
    assert clock.open_between(day, day + 48 * 3600) == 23 * 3600
    # An hour of open time from 01:30 ends at 03:30 local: 01:30-02:00 and 03:00-03:30.
    assert local(clock.add(at(2026, 3, 29, 1, 30), 3600)) == "Sun 2026-03-29 03:30"
    # A range that starts in the skipped hour starts after the gap.
    night = ShopClock.of("sun 02:30-04:00", "Europe/Madrid")
    assert local(night.next_opening(day)) == "Sun 2026-03-29 03:30"


def test_fall_back_gains_an_hour_of_opening() -> None:
    # Europe/Madrid, 2026-10-25: 03:00 becomes 02:00 again.
    clock = ShopClock.of("sun 01:00-04:00", "Europe/Madrid")
    day = at(2026, 10, 25, 0, 0)
    assert clock.open_between(day, day + 24 * 3600) == 4 * 3600
    due = clock.add(at(2026, 10, 25, 1, 0), 3.5 * 3600)
    assert local(due) == "Sun 2026-10-25 03:30"
    assert clock.rewind(due, 3.5 * 3600) == at(2026, 10, 25, 1, 0)


def test_overnight_hours_count_across_midnight() -> None:
    clock = ShopClock.of("fri,sat 20:00-02:00", "Europe/Madrid")
    assert clock.is_open(at(2026, 12, 12, 1, 30))  # Saturday 01:30: Friday's night
    assert local(clock.add(at(2026, 12, 11, 23, 50), 20 * MINUTE)) == "Sat 2026-12-12 00:10"
    assert local(clock.add(at(2026, 12, 12, 1, 50), 20 * MINUTE)) == "Sat 2026-12-12 20:10"


def test_the_zone_defaults_to_the_report_zone() -> None:
    clock = shop_clock(SHOP, "", "America/Mexico_City")
    assert clock.zone == ZoneInfo("America/Mexico_City")
    mexico = ZoneInfo("America/Mexico_City")
    assert clock.is_open(at(2026, 12, 7, 9, 30, zone=mexico))
