"""Which days the demo simulates: the most recent full school week before today.

Simulated time must lie in the past: the gateway takes a timestamp far in the future for
a device whose clock is not synced. All days are local days in the municipality's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class SimDay:
    day: date
    holiday: bool

    @property
    def weekend(self) -> bool:
        return self.day.weekday() >= 5

    @property
    def school_day(self) -> bool:
        return not (self.weekend or self.holiday)


@dataclass(frozen=True, slots=True)
class Calendar:
    days: tuple[SimDay, ...]
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.days[0].day, time(0), self.tz)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.days[-1].day + timedelta(days=1), time(0), self.tz)

    def local(self, ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, self.tz)

    def day_of(self, ms: int) -> SimDay | None:
        d = self.local(ms).date()
        return next((s for s in self.days if s.day == d), None)


def last_full_week_monday(today: date) -> date:
    """The Monday of the latest Monday-to-Friday that ended before `today`."""
    monday = today - timedelta(days=today.weekday())
    # This week's Friday has not ended yet unless today is Saturday or Sunday.
    return monday if today.weekday() >= 5 else monday - timedelta(days=7)


def school_week(today: date, days: int, tz: ZoneInfo, holiday: date | None = None) -> Calendar:
    """`days` consecutive days from the last full school week's Monday, all before `today`.

    More days than fit before today start whole weeks earlier, so the run always ends
    in the past. `holiday` must be one of the simulated days.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    start = last_full_week_monday(today)
    while start + timedelta(days=days) > today:
        start -= timedelta(days=7)
    span = [start + timedelta(days=i) for i in range(days)]
    if holiday is not None and holiday not in span:
        raise ValueError(
            f"holiday {holiday} is not one of the simulated days {span[0]}..{span[-1]}; "
            "pick a day inside that range or leave it out"
        )
    return Calendar(tuple(SimDay(d, d == holiday) for d in span), tz)
