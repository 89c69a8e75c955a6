"""Person-level data kept only for ``backend.retention_days``; daily aggregates stay.

Before the `tap` and `visit` points (which carry card pseudonyms) of a day are deleted, the
day's visits are summed per room into `visit_day` points (tags building, room; fields
visits, buddy_visits, minutes; at local midnight), which name no one.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from backend.cleaning.planner import DAY_MS
from backend.cleaning.shifts import day_window, local_day
from pletfri.influx import Influx, line


def first_visit_ms(influx: Influx, before_ms: int) -> int | None:
    rows = influx.query(f"SELECT first(duration_s) FROM visit WHERE time < {before_ms}ms")
    return rows[0]["time"] if rows else None


def summarise_day(influx: Influx, day: date, tz: ZoneInfo) -> int:
    """Write `visit_day` points for one local day; return how many rooms had visits."""
    start, end = day_window(day, tz)
    rows = influx.query(
        "SELECT count(duration_s) AS visits, sum(duration_s) AS seconds, count(buddy) AS buddy "
        f"FROM visit WHERE time >= {start}ms AND time < {end}ms GROUP BY building, room"
    )
    lines = [
        line(
            "visit_day",
            {"building": r["building"], "room": r["room"]},
            {
                "visits": r["visits"],
                "buddy_visits": r.get("buddy") or 0,
                "minutes": round((r["seconds"] or 0) / 60, 1),
            },
            start,
        )
        for r in rows
    ]
    if lines:
        influx.write(lines)
    return len(lines)


def forget(influx: Influx, retention_days: int, tz: ZoneInfo, now_ms: int) -> tuple[int, date]:
    """Summarise, then delete, person-level points from before the retention period.

    Returns the days summarised and the first local day still kept in full. Whole local
    days only: the cut-off is the midnight after now - retention_days.
    """
    keep_from = local_day(now_ms - retention_days * DAY_MS, tz) + timedelta(days=1)
    cutoff = day_window(keep_from, tz)[0]
    first = first_visit_ms(influx, cutoff)
    days = 0
    if first is not None:
        day = local_day(first, tz)
        while day < keep_from:
            summarise_day(influx, day, tz)
            days += 1
            day += timedelta(days=1)
    for measurement in ("visit", "tap"):
        influx.query(f'DELETE FROM "{measurement}" WHERE time < {cutoff}ms')
    return days, keep_from
