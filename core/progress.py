"""The progress bar shown in status messages."""

from __future__ import annotations

FILLED = "▰"
EMPTY = "▱"


def clamp_percent(value: float) -> int:
    """A percentage as an int in 0..100."""
    return max(0, min(100, round(value)))


def percent_of(current: int, total: int) -> int:
    """`current` of `total` steps as a percentage."""
    return clamp_percent(100 * current / total) if total > 0 else 0


def render_progress(percent: float, width: int = 10) -> str:
    """`▰▰▰▱▱▱▱▱▱▱ 30%`: `width` cells, rounded down so 100% shows only when done."""
    value = clamp_percent(percent)
    filled = value * width // 100
    return f"{FILLED * filled}{EMPTY * (width - filled)} {value}%"
