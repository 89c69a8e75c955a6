"""Shifts and days in the municipality's local time, as millisecond windows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_HOURS = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


class ShiftError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Shift:
    name: str
    start: time
    end: time

    def window(self, day: date, tz: ZoneInfo) -> tuple[int, int]:
        """The shift on `day` as [start_ms, end_ms); one ending past midnight ends the next day."""
        start = datetime.combine(day, self.start, tz)
        end_day = day + timedelta(days=1) if self.end <= self.start else day
        return to_ms(start), to_ms(datetime.combine(end_day, self.end, tz))


def to_ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def parse(shifts: dict[str, str]) -> dict[str, Shift]:
    """`backend.shifts` as Shift objects, in order of start time."""
    out = []
    for name, hours in shifts.items():
        m = _HOURS.match(hours)
        if not m or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
            raise ShiftError(f"backend.shifts.{name} = {hours!r}: write it as HH:MM-HH:MM")
        out.append(Shift(name, time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4]))))
    return {s.name: s for s in sorted(out, key=lambda s: s.start)}


def day_window(day: date, tz: ZoneInfo) -> tuple[int, int]:
    """Local midnight to midnight, in ms (23 or 25 hours on DST change days)."""
    start = datetime.combine(day, time(), tz)
    return to_ms(start), to_ms(datetime.combine(day + timedelta(days=1), time(), tz))


def local_day(ms: int, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(ms / 1000, tz).date()
