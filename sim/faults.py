"""Faults planted in the run, each of which the platform must notice.

All of them fall on the first simulated school day, so a one-day run carries every one:
a sensor that dies in the morning, a sensor whose battery runs flat, a station whose
network is down for an hour of the cleaning shift (it queues the taps and replays them),
and a card that is tapped in a second building minutes after the first (a copied card).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sim.calendar import Calendar
from sim.cleaning import Tap
from sim.world import Municipality, Room

BATTERY_START_MV = 2480
BATTERY_FALL_MV_PER_H = 12
BATTERY_FLOOR_MV = 2000
HEALTHY_MV = (2900, 3150)


@dataclass(frozen=True, slots=True)
class Faults:
    dead_sensor: str
    dead_from_ms: int
    flat_battery: str
    battery_from_ms: int
    offline_building: str
    offline_from_ms: int
    offline_to_ms: int
    clone_building: str
    clone_gap_min: float = 6.0

    def sensor_alive(self, device: str, ms: int) -> bool:
        return not (device == self.dead_sensor and ms >= self.dead_from_ms)

    def battery_mv(self, device: str, ms: int, healthy_mv: int) -> int:
        if device != self.flat_battery or ms < self.battery_from_ms:
            return healthy_mv
        hours = (ms - self.battery_from_ms) / 3_600_000
        return max(BATTERY_FLOOR_MV, round(BATTERY_START_MV - BATTERY_FALL_MV_PER_H * hours))

    def offline_station(self, taps_by_building: dict[str, list[Tap]]) -> str | None:
        """The station with the offline hour: the first one tapped in its building that hour."""
        for tap in taps_by_building.get(self.offline_building, []):
            if self.offline_from_ms <= tap.ms < self.offline_to_ms:
                return tap.station
        return None

    def clone_tap(self, taps_by_building: dict[str, list[Tap]], m: Municipality) -> Tap | None:
        """A tap of the offline building's first cleaner's card at a station elsewhere."""
        first = next(
            (
                t
                for t in taps_by_building.get(self.offline_building, [])
                if t.ms >= self.offline_to_ms
            ),
            None,
        )
        station = next(
            (r.station for r in m.building(self.clone_building).rooms if r.station), None
        )
        if first is None or station is None:
            return None
        ms = first.ms + int(self.clone_gap_min * 60_000)
        return Tap(ms, station, first.uid, first.cleaner)


def _school_day(cal: Calendar) -> datetime:
    day = next((d for d in cal.days if d.school_day), cal.days[0]).day
    return datetime.combine(day, time(0), cal.tz)


def plant(m: Municipality, cal: Calendar, seed: int, shift_start: time = time(15, 0)) -> Faults:
    """Faults for this run; the station's offline hour falls in the shift from `shift_start`."""
    rng = random.Random(f"{seed}:faults")
    midnight = _school_day(cal)
    schools = [b for b in m.buildings if b.kind == "school" and b.cleaners] or [
        b for b in m.buildings if b.cleaners
    ]
    if not schools:
        raise ValueError("the registry has no building with cleaners; faults need one")
    shift_b = rng.choice(schools)
    others = [b for b in m.buildings if b.id != shift_b.id and any(r.station for r in b.rooms)]
    clone_b = rng.choice(others) if others else shift_b

    def sensors(rooms: list[Room], types: tuple[str, ...]) -> list[str]:
        return [r.sensor for r in rooms if r.sensor and r.type in types]

    all_rooms = m.rooms()
    classrooms = sensors(all_rooms, ("classroom", "office", "meeting")) or sensors(
        all_rooms, tuple({r.type for r in all_rooms})
    )
    dead = rng.choice(classrooms)
    flat = rng.choice(
        [s for s in sensors(all_rooms, tuple({r.type for r in all_rooms})) if s != dead]
    )
    shift = datetime.combine(midnight.date(), shift_start, cal.tz)
    ms = lambda dt: int(dt.timestamp() * 1000)  # noqa: E731
    return Faults(
        dead_sensor=dead,
        dead_from_ms=ms(midnight + timedelta(hours=9)),
        flat_battery=flat,
        battery_from_ms=ms(midnight),
        offline_building=shift_b.id,
        # From ten past the shift's start, so the offline hour spans an alert evaluation.
        offline_from_ms=ms(shift + timedelta(minutes=10)),
        offline_to_ms=ms(shift + timedelta(minutes=70)),
        clone_building=clone_b.id,
    )
