"""A simulated quality inspector: INSTA 800 inspections after the afternoon shift.

Each simulated school day, a few buildings get an inspection at 21:30 of the sample
`backend.quality` draws. What the inspector sees follows the cleaning: a room with a
verified visit that day mostly meets its agreed level (now and then one better or one
worse), a room visited too briefly or without a leaving tap falls one short half the
time, and a room not visited that day (not due, or missed) falls one short now and then.
So the report's quality section answers to the cleaners' work.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time

from backend.cleaning.shifts import day_window
from backend.cleaning.visits import read_visits
from backend.quality import inspections
from backend.service import Backend
from pletfri.settings import Settings

# Buildings inspected after each school day (of the municipality's 155: each about once
# a month, as a contract would ask).
PER_DAY = 6
INSPECTOR = "inspector-sim"


def _observed(rng: random.Random, agreed: int, visit: str | None) -> int:
    if visit == "verified":
        shift = rng.choices((0, 1, -1), weights=(80, 10, 10))[0]
    elif visit == "poor":
        shift = rng.choices((0, -1), weights=(50, 50))[0]
    else:
        shift = rng.choices((0, -1), weights=(70, 30))[0]
    return max(0, min(5, agreed + shift))


def inspect_day(backend: Backend, s: Settings, day: date, seed: int, now_ms: int) -> int:
    """Inspections of PER_DAY buildings on the evening of `day`; returns rooms inspected."""
    rng = random.Random(f"{seed}:inspections:{day}")
    buildings = sorted(b.id for b in backend.registry.buildings())
    chosen = rng.sample(buildings, min(PER_DAY, len(buildings)))
    start, end = day_window(day, backend.tz)
    seen: dict[str, str] = {}
    for v in read_visits(backend.influx, start, min(end, now_ms)):
        if v.complete and not v.short:
            seen[v.room] = "verified"
        else:
            seen.setdefault(v.room, "poor")
    evening = datetime.combine(day, time(21, 30), backend.tz)
    at_ms = min(int(evening.timestamp() * 1000), now_ms)
    rooms = 0
    for b in sorted(chosen):
        insp = inspections.plan(backend.registry, s.quality, b, day, at_ms, INSPECTOR)
        for r in insp.rooms:
            visit = seen.get(r.room)
            inspections.record(
                backend.registry, insp.id, r.room, _observed(rng, r.agreed, visit), now_ms=at_ms
            )
            rooms += 1
        inspections.finish(backend.registry, insp.id, at_ms)
    return rooms
