"""Savings of demand-based cleaning against the fixed schedule, and the risk that comes with it.

The fixed schedule cleans a room of a type ``fixed_per_week`` times a week, spread over the
working days (Monday to Friday). Cleanings avoided are the fixed schedule's cleanings minus the
visits made; minutes use each room's estimated minutes for both, so a slow or hurried visit
does not change the figure. Cleanings planned at rooms without a station count as made
(``unverified``), as nothing can show otherwise. The risk side: cleanings that were due and
not made.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from backend.planner import Plan
from backend.registry import Room
from backend.roomtypes import RoomType
from backend.shifts import day_window
from backend.verification import verify
from backend.visits import read_visits
from pletfri.influx import Influx


@dataclass(slots=True)
class Savings:
    first: date
    last: date
    building: str | None
    fixed_cleanings: float = 0.0
    planned: int = 0
    done: int = 0
    # Cleanings planned at rooms without a station: assumed made, as nothing can show it.
    unverified: int = 0
    avoided: float = 0.0
    fixed_minutes: float = 0.0
    done_minutes: float = 0.0
    minutes_saved: float = 0.0
    # The risk side: due cleanings not made (the shift ended without a visit).
    due_not_cleaned: int = 0
    due_not_cleaned_rooms: list[str] = field(default_factory=list)


def fixed_on(room_type: RoomType, day: date) -> float:
    """Cleanings of one room of this type that the fixed schedule makes on `day`."""
    return room_type.fixed_per_week / 5 if day.weekday() < 5 else 0.0


def savings(
    influx: Influx,
    rooms: list[Room],
    types: Mapping[str, RoomType],
    plans_by_day: Mapping[date, list[Plan]],
    first: date,
    last: date,
    tz: ZoneInfo,
    now_ms: int,
    building: str | None = None,
) -> Savings:
    """Savings over the days first..last (inclusive) for one building or the municipality."""
    rooms = [r for r in rooms if building is None or r.building == building]
    by_id = {r.id: r for r in rooms}
    buildings = sorted({r.building for r in rooms})
    out = Savings(first, last, building)
    day = first
    while day <= last:
        start, end = day_window(day, tz)
        if start > now_ms:
            break
        for r in rooms:
            fixed = fixed_on(types[r.type], day)
            out.fixed_cleanings += fixed
            out.fixed_minutes += fixed * types[r.type].minutes(r.area_m2)
        visited: Counter[str] = Counter(
            v.room
            for v in read_visits(influx, start, min(end, now_ms), building)
            if v.room in by_id
        )
        for room, n in visited.items():
            r = by_id[room]
            out.done += n
            out.done_minutes += n * types[r.type].minutes(r.area_m2)
        books = verify(
            influx, plans_by_day.get(day, []), buildings, day, tz, 0, now_ms, unneeded=False
        )
        for b in books.values():
            out.planned += b.planned
            out.unverified += b.unverifiable
            for room in b.unverifiable_rooms:
                r = by_id[room]
                out.done_minutes += types[r.type].minutes(r.area_m2)
            out.due_not_cleaned += b.missed
            out.due_not_cleaned_rooms += b.missed_rooms
        day += timedelta(days=1)
    out.fixed_cleanings = round(out.fixed_cleanings, 1)
    out.avoided = round(out.fixed_cleanings - out.done - out.unverified, 1)
    out.fixed_minutes = round(out.fixed_minutes, 1)
    out.done_minutes = round(out.done_minutes, 1)
    out.minutes_saved = round(out.fixed_minutes - out.done_minutes, 1)
    return out
