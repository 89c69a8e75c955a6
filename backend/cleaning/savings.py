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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from backend.cleaning.planner import Plan
from backend.cleaning.roomtypes import RoomType
from backend.cleaning.shifts import day_window
from backend.cleaning.verification import RoomVisits, verify
from backend.cleaning.visits import read_visits
from backend.registry import Room
from pletfri.influx import Influx, line


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


def savings_by_building(
    influx: Influx,
    rooms: list[Room],
    types: Mapping[str, RoomType],
    plans_by_day: Mapping[date, list[Plan]],
    first: date,
    last: date,
    tz: ZoneInfo,
    now_ms: int,
    building: str | None = None,
    counts: Mapping[date, Mapping[str, RoomVisits]] | None = None,
) -> dict[str, Savings]:
    """Savings over the days first..last (inclusive) per building, in one pass over the data.

    `counts`: for the days it holds, each room's visits counted (from the rollups) instead of
    read one by one.
    """
    rooms = [r for r in rooms if building is None or r.building == building]
    by_id = {r.id: r for r in rooms}
    buildings = sorted({r.building for r in rooms})
    per = {b: Savings(first, last, b) for b in buildings}
    day = first
    while day <= last:
        start, end = day_window(day, tz)
        if start > now_ms:
            break
        for r in rooms:
            fixed = fixed_on(types[r.type], day)
            per[r.building].fixed_cleanings += fixed
            per[r.building].fixed_minutes += fixed * types[r.type].minutes(r.area_m2)
        counted = counts.get(day) if counts is not None else None
        if counted is None:
            visited: Counter[str] = Counter(
                v.room
                for v in read_visits(influx, start, min(end, now_ms), building)
                if v.room in by_id
            )
        else:
            visited = Counter({r: c.visits for r, c in counted.items() if r in by_id})
        for room, n in visited.items():
            r = by_id[room]
            per[r.building].done += n
            per[r.building].done_minutes += n * types[r.type].minutes(r.area_m2)
        books = verify(
            influx, plans_by_day.get(day, []), buildings, day, tz, 0, now_ms, unneeded=False,
            counts=counted,
        )  # fmt: skip
        for b in books.values():
            out = per[b.building]
            out.planned += b.planned
            out.unverified += b.unverifiable
            for room in b.unverifiable_rooms:
                r = by_id[room]
                out.done_minutes += types[r.type].minutes(r.area_m2)
            out.due_not_cleaned += b.missed
            out.due_not_cleaned_rooms += b.missed_rooms
        day += timedelta(days=1)
    return {b: _settle(s) for b, s in per.items()}


def total(parts: Iterable[Savings], first: date, last: date, building: str | None) -> Savings:
    out = Savings(first, last, building)
    for p in parts:
        out.fixed_cleanings += p.fixed_cleanings
        out.planned += p.planned
        out.done += p.done
        out.unverified += p.unverified
        out.fixed_minutes += p.fixed_minutes
        out.done_minutes += p.done_minutes
        out.due_not_cleaned += p.due_not_cleaned
        out.due_not_cleaned_rooms += p.due_not_cleaned_rooms
    return _settle(out)


def _settle(out: Savings) -> Savings:
    out.fixed_cleanings = round(out.fixed_cleanings, 1)
    out.avoided = round(out.fixed_cleanings - out.done - out.unverified, 1)
    out.fixed_minutes = round(out.fixed_minutes, 1)
    out.done_minutes = round(out.done_minutes, 1)
    out.minutes_saved = round(out.fixed_minutes - out.done_minutes, 1)
    return out


def savings_line(s: Savings, tz: ZoneInfo) -> str:
    """One building's savings of one day as a `savings` point at the day's start (Grafana)."""
    return line(
        "savings",
        {"building": s.building or ""},
        {
            "fixed_cleanings": float(s.fixed_cleanings),
            "done": s.done,
            "unverified": s.unverified,
            "avoided": float(s.avoided),
            "fixed_minutes": float(s.fixed_minutes),
            "minutes_saved": float(s.minutes_saved),
            "due_not_cleaned": s.due_not_cleaned,
        },
        day_window(s.first, tz)[0],
    )
