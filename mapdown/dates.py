"""Days, ISO weeks and fiscal quarters, always in an explicit time zone."""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo


def now() -> int:
    """Seconds since the epoch; `SOURCE_DATE_EPOCH` pins it for reproducible runs."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return int(epoch)
    return int(dt.datetime.now(dt.UTC).timestamp())


def today(tz: zoneinfo.ZoneInfo) -> dt.date:
    """Today in `tz` (pinned by `SOURCE_DATE_EPOCH` like `now`)."""
    return dt.datetime.fromtimestamp(now(), tz).date()


def quarter_end(day: dt.date, fiscal_year_start: int) -> dt.date:
    """The last day of the vendor's fiscal quarter that contains `day`."""
    offset = (day.month - fiscal_year_start) % 3  # months since this quarter began
    start_month = day.month - offset
    year = day.year
    if start_month < 1:
        start_month += 12
        year -= 1
    end_month = start_month + 3  # first month of the next quarter
    end_year = year + (end_month - 1) // 12
    end_month = (end_month - 1) % 12 + 1
    return dt.date(end_year, end_month, 1) - dt.timedelta(days=1)


def iso_week(day: dt.date) -> str:
    """`2026-W45`."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
