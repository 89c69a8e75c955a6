"""The real alert engine (backend/alerts) run at simulated times over the demo's registry.

Alerts go out on MQTT (`pletfri/v1/alerts/{building}`) and are stored as `alert` points;
the demo has no mail server or webhook to send to. The engine reads the registry, the
plan and the verification through its `Sources`; until the backend's own sources exist
the demo hands it the registry and each day's plan in memory (StaticSources).
"""

from __future__ import annotations

from backend.alerts.engine import AlertEngine
from backend.alerts.sources import Device, Leader, PlannedCleaning, Room, StaticSources
from pletfri.settings import Settings
from pletfri_fw.pseudonym import Pseudonymiser
from sim.world import Municipality


def sources(m: Municipality, site_key: bytes) -> StaticSources:
    pseudo = Pseudonymiser(site_key)
    devices = []
    for r in m.rooms():
        if r.sensor:
            devices.append(Device(r.sensor, "sensor", r.building, r.id))
        if r.station:
            devices.append(Device(r.station, "station", r.building, r.id))
    return StaticSources(
        leaders_by_building={
            b.id: [Leader(f"leader-{b.id}", f"Service leader {b.id}", "da")] for b in m.buildings
        },
        room_list=[Room(r.id, r.building, r.type, r.area_m2) for r in m.rooms()],
        device_list=devices,
        cards={pseudo.card(c.uid) for c in m.cleaners()},
    )


class Alerting:
    def __init__(self, settings: Settings, m: Municipality, site_key: bytes) -> None:
        self.sources = sources(m, site_key)
        self.engine = AlertEngine(settings, self.sources)

    def add_plan(self, plan: list[PlannedCleaning]) -> None:
        self.sources.plan.extend(plan)

    def tick(self, now_ms: int) -> None:
        self.engine.tick(now_ms)

    def close(self) -> None:
        self.engine.close()
