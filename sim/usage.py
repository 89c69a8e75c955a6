"""How rooms are used: PIR triggers per period by building kind, room type and time of day.

Expected triggers per 15 minutes come from a timetable per building kind (school lessons
and breaks, day-care days, town-hall office hours); each room scales it by its own use
factor (some rooms stand empty all week, toilets take a beating); the count is drawn
around that mean, and an empty room now and then sees a false PIR trigger.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from datetime import datetime

from sim.calendar import SimDay
from sim.world import Room

# (from, to) local minutes of the day -> expected triggers per 15 minutes, per room type.
Blocks = list[tuple[int, int, float]]


def _hm(s: str) -> int:
    h, m = s.split(":")
    return int(h) * 60 + int(m)


def _blocks(*spec: tuple[str, str, float]) -> Blocks:
    return [(_hm(a), _hm(b), rate) for a, b, rate in spec]


# School: lessons 08:00-14:00 with breaks, after-school club until 17:00.
_SCHOOL_LESSONS = _blocks(
    ("08:00", "09:30", 30), ("09:50", "11:30", 30), ("12:00", "13:30", 28), ("13:40", "14:30", 25)
)
_SCHOOL_BREAKS = _blocks(
    ("07:45", "08:00", 20), ("09:30", "09:50", 40), ("11:30", "12:00", 45), ("13:30", "13:40", 35)
)
_DAYCARE = _blocks(("06:30", "08:30", 15), ("08:30", "11:30", 30), ("13:30", "17:00", 20))
_OFFICE = _blocks(("08:00", "11:30", 18), ("11:30", "12:15", 6), ("12:15", "16:00", 16))

PROFILES: dict[str, dict[str, Blocks]] = {
    "school": {
        "classroom": _SCHOOL_LESSONS,
        "toilet": [(a, b, r * 1.2) for a, b, r in _SCHOOL_BREAKS]
        + [(a, b, 6.0) for a, b, _ in _SCHOOL_LESSONS],
        "corridor": _SCHOOL_BREAKS + [(a, b, 4.0) for a, b, _ in _SCHOOL_LESSONS],
        "gym": _blocks(("08:00", "09:30", 35), ("12:00", "13:30", 35), ("18:00", "20:00", 25)),
        "kitchen": _blocks(("11:15", "12:15", 30)),
        "office": _OFFICE,
        "meeting": _blocks(("08:00", "08:30", 15), ("14:30", "16:00", 20)),
        "group_room": _blocks(("14:30", "17:00", 20)),
    },
    "daycare": {
        "group_room": _DAYCARE,
        "sleeping": _blocks(("11:30", "13:30", 8)),
        "toilet": [(a, b, r * 0.8) for a, b, r in _DAYCARE],
        "kitchen": _blocks(("10:30", "12:00", 20), ("14:00", "14:30", 15)),
        "corridor": _blocks(("06:30", "09:00", 25), ("15:00", "17:00", 25)),
        "office": _OFFICE,
    },
    "townhall": {
        "office": _OFFICE,
        "meeting": _blocks(("09:00", "10:00", 20), ("10:30", "11:30", 18), ("13:00", "14:30", 20)),
        "toilet": _blocks(("08:00", "16:00", 10), ("11:30", "12:30", 20)),
        "corridor": _blocks(("08:00", "16:00", 6)),
        "kitchen": _blocks(("11:30", "12:30", 25), ("08:00", "16:00", 3)),
    },
    "other": {
        "office": _OFFICE,
        "meeting": _blocks(("09:00", "12:00", 12)),
        "toilet": _blocks(("08:00", "16:00", 7)),
        "corridor": _blocks(("08:00", "16:00", 4)),
        "kitchen": _blocks(("11:30", "12:30", 15)),
        "gym": _blocks(("16:00", "21:00", 25)),
    },
}
# A room type a building kind has no timetable for gets a light office-hours use.
_FALLBACK: Blocks = _blocks(("08:00", "16:00", 3))

# Fridays end early at the town hall and in offices.
_FRIDAY_END = _hm("14:00")


@dataclass(frozen=True, slots=True)
class UsageConfig:
    # Rooms that stand empty all week, by type: a spare meeting room more often than a classroom.
    empty_share: tuple[tuple[str, float], ...] = (
        ("classroom", 0.01),
        ("office", 0.03),
        ("meeting", 0.06),
        ("gym", 0.1),
    )
    empty_default: float = 0.08
    toilet_factor: float = 2.0  # toilets take a beating
    false_trigger_p: float = 0.004  # per period, in an empty room
    spread: float = 0.5  # sigma of the log-normal use factor per room


@functools.cache
def expected(kind: str, room_type: str, minute: int, day: SimDay) -> float:
    """Mean PIR triggers per 15 minutes at `minute` past local midnight."""
    if not day.school_day:
        return 0.0
    if day.day.weekday() == 4 and kind in ("townhall", "other") and minute >= _FRIDAY_END:
        return 0.0
    blocks = PROFILES.get(kind, PROFILES["other"]).get(room_type, _FALLBACK)
    return sum(rate for a, b, rate in blocks if a <= minute < b)


def _draw(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean < 12:
        # Knuth's method: exact Poisson, cheap for small means.
        limit, k, p = math.exp(-mean), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


class RoomUsage:
    """One room's use over simulated time; draws in time order from its own seeded stream."""

    def __init__(self, room: Room, kind: str, seed: int, config: UsageConfig) -> None:
        self.room = room
        self.kind = kind
        self.config = config
        self.rng = random.Random(f"{seed}:usage:{room.id}")
        share = dict(config.empty_share).get(room.type, config.empty_default)
        self.empty = self.rng.random() < share
        factor = self.rng.lognormvariate(0.0, config.spread)
        if room.type == "toilet":
            factor *= config.toilet_factor
        self.factor = 0.0 if self.empty else factor

    def motion(self, start: datetime, period_s: int, day: SimDay) -> int:
        """PIR triggers in the period that starts at local time `start`."""
        minute = start.hour * 60 + start.minute
        mean = expected(self.kind, self.room.type, minute, day) * self.factor * period_s / 900
        count = _draw(self.rng, mean)
        if self.rng.random() < self.config.false_trigger_p:
            count += 1
        return count
