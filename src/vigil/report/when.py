"""Timestamps as outputs show them: a date when there is one, the raw value otherwise.

Evidence carries any time its format can hold: a tar member may say ``-10**12``
seconds (GNU base-256), a damaged file system a date past the year 9999. Python's
``datetime`` covers the years 1 to 9999 only, so every writer (report, VICS and CSV
exports, referral) goes through here: such a value is never an exception, and never
silently dropped; it is shown as found, marked as raw.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

#: How a human output marks a timestamp that is not a calendar date.
RAW_NOTE = "raw timestamp, outside the calendar's range"


def as_datetime(timestamp: float | None) -> datetime | None:
    """The UTC date of seconds since 1970, or None when there is none (or it is out of range)."""
    if timestamp is None or not math.isfinite(timestamp):
        return None
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def raw(timestamp: float) -> str:
    """The value as found: ``-1000000000000``, ``1.5e+300``, ``nan``."""
    if math.isfinite(timestamp) and float(timestamp).is_integer() and abs(timestamp) < 1e18:
        return str(int(timestamp))
    return repr(float(timestamp))


def shown(timestamp: float | None, fmt: str = "%Y-%m-%d %H:%M:%S UTC") -> str:
    """For people: the date in ``fmt``, or the raw value marked as such ("" for none)."""
    if timestamp is None:
        return ""
    when = as_datetime(timestamp)
    if when is None:
        return f"{raw(timestamp)} ({RAW_NOTE})"
    return when.strftime(fmt)


def iso(timestamp: float | None) -> str | None:
    """ISO 8601 in UTC to the second, or None when the value is not a calendar date."""
    when = as_datetime(timestamp)
    return when.isoformat(timespec="seconds") if when is not None else None
