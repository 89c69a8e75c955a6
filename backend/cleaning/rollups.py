"""Long-range reads choose the rollups where they are complete, the raw points elsewhere.

The monthly report and the savings count each room's visits per local day. For the days
that the hourly rollups cover in full (`storage.coverage` on, and older than the
continuous queries' late window, `storage.late_hours`), `room_days` answers from the
rollups in one query; the others are left to the raw points, read one visit at a time as
before. So a report of a month whose person-level visits were deleted by the retention rule
(backend/people/retention.py) or by the raw retention policy still has its figures.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from backend.cleaning.shifts import day_window, local_day
from backend.cleaning.verification import RoomVisits
from pletfri import storage
from pletfri.influx import Influx, quote
from pletfri.settings import StorageSettings


def rolled_up_days(
    influx: Influx, conf: StorageSettings, tz: ZoneInfo, first: date, last: date, now_ms: int
) -> list[date]:
    """The days of first..last whose visits the hourly rollups hold in full."""
    if not conf.read_rollups:
        return []
    since = storage.coverage(influx)
    if since is None:
        return []
    # The CQs run on the real clock, whatever instant a report is made "at".
    horizon = min(now_ms, int(time.time() * 1000)) - conf.late_hours * storage.HOUR_MS
    out = []
    day = first
    while day <= last:
        start, end = day_window(day, tz)
        if start >= since and end <= horizon:
            out.append(day)
        day += timedelta(days=1)
    return out


def room_days(
    influx: Influx,
    conf: StorageSettings,
    tz: ZoneInfo,
    first: date,
    last: date,
    now_ms: int,
    building: str | None = None,
) -> dict[date, dict[str, RoomVisits]]:
    """Each rolled-up day of first..last: its visits counted per room (no entry: read raw)."""
    days = rolled_up_days(influx, conf, tz, first, last, now_ms)
    if not days:
        return {}
    out: dict[date, dict[str, RoomVisits]] = {d: {} for d in days}
    start, end = day_window(days[0], tz)[0], day_window(days[-1], tz)[1]
    where = f" AND building = {quote(building)}" if building else ""
    rows = influx.query(
        'SELECT sum("visits") AS visits, sum("short") AS short, sum("incomplete") AS '
        'incomplete, sum("buddy_visits") AS buddy '
        f'FROM "{storage.HOURLY}"."visits" WHERE time >= {start}ms AND time < {end}ms{where} '
        f'GROUP BY time(1d), "building", "room" fill(none) tz({quote(tz.key)})'
    )
    for r in rows:
        day = local_day(r["time"], tz)
        if day in out and r.get("visits"):
            out[day][r["room"]] = RoomVisits(
                r["building"],
                int(r["visits"]),
                int(r.get("short") or 0),
                int(r.get("incomplete") or 0),
                int(r.get("buddy") or 0),
            )
    return out
