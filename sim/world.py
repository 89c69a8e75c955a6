"""The simulator's view of the municipality: buildings, rooms, devices and cleaners.

Built from the backend's registry (sim/registry.py); kept small and plain so the usage,
cleaning and fault models are pure functions of it and a seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    building: str
    type: str
    area_m2: float
    floor: int = 0
    sensor: str | None = None
    station: str | None = None
    # An NFC sticker (tag-<uid>) where there is no station: cleaners tap it with a phone.
    sticker: str | None = None

    @property
    def check_in(self) -> str | None:
        """Where a cleaner checks in: the station, else the sticker."""
        return self.station or self.sticker


@dataclass(frozen=True, slots=True)
class Cleaner:
    id: str
    role: str  # cleaner, trainee, buddy
    # The raw card UID: the simulated card, pseudonymised by the station's firmware.
    uid: bytes
    building: str
    buddy: str | None = None


@dataclass(slots=True)
class Building:
    id: str
    kind: str  # school, daycare, townhall, other
    training_track: bool = False
    rooms: list[Room] = field(default_factory=list)
    cleaners: list[Cleaner] = field(default_factory=list)


@dataclass(slots=True)
class Municipality:
    buildings: list[Building]

    def rooms(self) -> list[Room]:
        return [r for b in self.buildings for r in b.rooms]

    def building(self, building_id: str) -> Building:
        return next(b for b in self.buildings if b.id == building_id)
