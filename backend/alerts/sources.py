"""What the alerts read from the rest of the backend: registry, plan, verification, training.

The rules take any object with these methods, so the alerts do not depend on how the
backend stores them: `BackendSources` (backend_sources.py) reads the backend's registry,
plans and verification; `StaticSources` holds them in memory (tests, demo set-ups).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

Language = Literal["da", "en"]


@dataclass(frozen=True, slots=True)
class Leader:
    """A service leader; quiet hours "HH:MM-HH:MM", None for the configured default."""

    id: str
    name: str
    language: Language = "da"
    email: str | None = None
    webhook: str | None = None
    quiet_hours: str | None = None


@dataclass(frozen=True, slots=True)
class Room:
    room: str
    building: str
    type: str
    area_m2: float


@dataclass(frozen=True, slots=True)
class Device:
    device: str
    kind: str  # "station" or "sensor"
    building: str
    room: str


@dataclass(frozen=True, slots=True)
class PlannedCleaning:
    building: str
    room: str
    shift: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class DayVerification:
    """Yesterday's verification of one building, for the digest."""

    planned: int
    done: int
    missed: int
    unplanned: int
    too_short: int
    # Visits a trainee made together with their buddy.
    buddy_visits: int = 0


class Sources(Protocol):
    def buildings(self) -> list[str]: ...

    def leaders(self, building: str) -> list[Leader]: ...

    def rooms(self) -> dict[str, Room]: ...

    def devices(self) -> dict[str, Device]: ...

    def known_card(self, card: str) -> bool: ...

    def planned(self, since_ms: int, until_ms: int) -> list[PlannedCleaning]:
        """Planned cleanings whose shift ends in [since_ms, until_ms]."""
        ...

    def verification(self, building: str, day: date, now_ms: int) -> DayVerification | None:
        """`day`'s verification as judged at `now_ms`; None if there is none."""
        ...

    def trainee_notes(self, building: str, day: date) -> list[str]: ...


@dataclass
class StaticSources:
    """Sources held in memory."""

    leaders_by_building: dict[str, list[Leader]] = field(default_factory=dict)
    room_list: list[Room] = field(default_factory=list)
    device_list: list[Device] = field(default_factory=list)
    cards: set[str] = field(default_factory=set)
    plan: list[PlannedCleaning] = field(default_factory=list)
    verifications: dict[tuple[str, date], DayVerification] = field(default_factory=dict)
    notes: dict[tuple[str, date], list[str]] = field(default_factory=dict)

    def buildings(self) -> list[str]:
        found = set(self.leaders_by_building) | {r.building for r in self.room_list}
        return sorted(found | {d.building for d in self.device_list})

    def leaders(self, building: str) -> list[Leader]:
        return self.leaders_by_building.get(building, [])

    def rooms(self) -> dict[str, Room]:
        return {r.room: r for r in self.room_list}

    def devices(self) -> dict[str, Device]:
        return {d.device: d for d in self.device_list}

    def known_card(self, card: str) -> bool:
        return card in self.cards

    def planned(self, since_ms: int, until_ms: int) -> list[PlannedCleaning]:
        return [p for p in self.plan if since_ms <= p.end_ms <= until_ms]

    def verification(self, building: str, day: date, now_ms: int) -> DayVerification | None:
        return self.verifications.get((building, day))

    def trainee_notes(self, building: str, day: date) -> list[str]:
        return self.notes.get((building, day), [])
