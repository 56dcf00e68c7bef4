"""The period a dashboard shows: ISO dates, both ends inclusive, and the period before it.

Dashboards compare a period with the one of the same length just before it (28 days against the
28 before), so ``from``/``to`` are whole UTC days; presets are the last 7, 28 or 90 days ending
today. A period longer than :data:`MAX_DAYS` or ending before it starts is refused (422)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from mercato.analytics.dash.errors import DashboardError
from mercato.kit.errors import ValidationFailed

PRESETS = (7, 28, 90)
DEFAULT_DAYS = 28
MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    start: date  # first day, inclusive
    end: date  # last day, inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def since(self) -> datetime:
        """The first instant of the period (UTC)."""
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """The first instant after the period (UTC): ranges are half-open ``[since, until)``."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    @property
    def bucket(self) -> Literal["hour", "day"]:
        """The chart's step: hours for a period of up to two days, else days."""
        return "hour" if self.days <= 2 else "day"


def last_days(days: int, today: date | None = None) -> Period:
    end = today or datetime.now(UTC).date()
    return Period(end - timedelta(days=days - 1), end)


def parse_period(start: date | None, end: date | None, days: int | None = None, *,
                 today: date | None = None) -> Period:
    """``from``/``to`` when given (a missing end is today, a missing start makes the period
    ``days`` or :data:`DEFAULT_DAYS` long), else the last ``days`` days."""
    today = today or datetime.now(UTC).date()
    length = days or DEFAULT_DAYS
    if length < 1 or length > MAX_DAYS:
        raise ValidationFailed(f"A period is 1 to {MAX_DAYS} days long.", code=DashboardError.INVALID_PERIOD,
                               details={"field": "days"})
    if start is None and end is None:
        return last_days(length, today)
    end = end or today
    start = start or end - timedelta(days=length - 1)
    if end < start:
        raise ValidationFailed("The period ends before it starts.", code=DashboardError.INVALID_PERIOD,
                               details={"field": "to"})
    period = Period(start, end)
    if period.days > MAX_DAYS:
        raise ValidationFailed(f"A period is 1 to {MAX_DAYS} days long.", code=DashboardError.INVALID_PERIOD,
                               details={"field": "from"})
    return period


def change_pct(now: float, before: float) -> float | None:
    """The change against the previous period in percent (one decimal); None when it had nothing."""
    if not before:
        return None
    return round((now - before) * 100 / before, 1)
