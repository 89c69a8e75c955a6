"""The alerts' sources from the backend itself: registry, stored plans, verification."""

from __future__ import annotations

import logging
import time
from datetime import date

from backend.alerts.sources import (
    DayVerification,
    Device,
    Leader,
    PlannedCleaning,
    Room,
)
from backend.cleaning import plans
from backend.service import Backend
from pletfri.influx import InfluxError
from pletfri.settings import Settings

log = logging.getLogger(__name__)


class BackendSources:
    """`Sources` over a `Backend` (backend/service.py); one per engine."""

    def __init__(self, settings: Settings, refresh_s: float = 30.0) -> None:
        self.backend = Backend(settings)
        self.registry = self.backend.registry
        self.refresh_s = refresh_s
        self._checked = -float("inf")
        self._version = -1
        self._rooms: dict[str, Room] = {}
        self._devices: dict[str, Device] = {}
        self._cards: set[str] = set()
        self._verified: dict[tuple[date, int], dict[str, DayVerification]] = {}

    def close(self) -> None:
        self.backend.close()

    def buildings(self) -> list[str]:
        return [b.id for b in self.registry.buildings()]

    def leaders(self, building: str) -> list[Leader]:
        return [
            Leader(p.id, p.name or p.id, p.language, p.email, p.webhook, p.quiet_hours)
            for p in self.registry.leaders(building)
        ]

    def _fresh(self) -> None:
        # Reading 6,000 rooms and 11,000 devices costs ~250 ms, and every evaluation asks:
        # look at most every refresh_s (wall clock: a cache, not a rule) whether the file
        # changed (SQLite's data_version; the alerts' own writes count too), and only then.
        if time.monotonic() - self._checked < self.refresh_s:
            return
        self._checked = time.monotonic()
        version = self.registry.query("PRAGMA data_version")[0][0]
        if version == self._version:
            return
        self._rooms = {
            r.id: Room(r.id, r.building, r.type, r.area_m2) for r in self.registry.rooms()
        }
        self._devices = {
            d.device: Device(d.device, d.kind, d.building, d.room)
            for d in self.registry.placed_devices()
        }
        self._cards = set(self.registry.card_owners())
        self._version = version

    def rooms(self) -> dict[str, Room]:
        self._fresh()
        return self._rooms

    def devices(self) -> dict[str, Device]:
        self._fresh()
        return self._devices

    def known_card(self, card: str) -> bool:
        self._fresh()
        return card in self._cards

    def planned(self, since_ms: int, until_ms: int) -> list[PlannedCleaning]:
        return [
            PlannedCleaning(b, room, shift, start, end)
            for b, room, shift, start, end in plans.planned_between(
                self.registry, since_ms, until_ms
            )
        ]

    def _day(self, day: date, now_ms: int) -> dict[str, DayVerification]:
        # One verification of every building per day and instant, shared by all digests.
        key = (day, now_ms)
        if key not in self._verified:
            self._verified = {key: {}}
            try:
                found = self.backend.verify(day, now_ms)
            except InfluxError as e:
                # The digest still goes out, saying it has no figures.
                log.warning("no verification of %s for the digests: %s", day, e)
                found = {}
            for building, v in found.items():
                self._verified[key][building] = DayVerification(
                    v.planned, v.done, v.missed, v.unplanned, v.too_short, v.buddy_visits
                )
        return self._verified[key]

    def verification(self, building: str, day: date, now_ms: int) -> DayVerification | None:
        return self._day(day, now_ms).get(building)

    def trainee_notes(self, building: str, day: date) -> list[str]:
        # The backend keeps no free-text notes on trainees yet; buddy visits come with the
        # verification.
        return []
