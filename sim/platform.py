"""What the demo asks of the backend: the registry, the day's plan, the day's books, alerts.

PROVISIONAL: until the backend (issue 5) and the alert engine (issue 6) land, the registry
is a plain generated one, the plan is every room with a station, and there are no visits,
savings or alerts. Each method is replaced by a call into the backend as it lands.
"""

from __future__ import annotations

import csv
import random
from datetime import date
from pathlib import Path

from pletfri_fw.pseudonym import Pseudonymiser
from sim.cleaning import PlannedRoom
from sim.world import Building, Cleaner, Municipality, Room

ROOM_MIX = {
    "school": ["classroom"] * 18
    + ["toilet"] * 6
    + ["corridor"] * 4
    + ["gym", "kitchen", "office", "meeting"],
    "daycare": ["group_room"] * 5
    + ["sleeping"] * 2
    + ["toilet"] * 3
    + ["kitchen", "corridor", "office"],
    "townhall": ["office"] * 40
    + ["meeting"] * 10
    + ["toilet"] * 8
    + ["corridor"] * 6
    + ["kitchen"] * 2,
    "other": ["office"] * 8 + ["meeting"] * 2 + ["toilet"] * 3 + ["corridor", "kitchen", "gym"],
}


class Platform:
    def __init__(self, folder: Path, site_key: bytes) -> None:
        self.folder = folder
        self.site_key = site_key

    def municipality(self, buildings: int, seed: int) -> Municipality:
        rng = random.Random(f"{seed}:registry")
        out = []
        for i in range(buildings):
            kind = (
                "townhall"
                if i == 0
                else "school"
                if i % 3 == 1
                else "daycare"
                if i % 3 == 2
                else "other"
            )
            bid = f"b{i + 1:03d}"
            rooms = [
                Room(
                    f"{bid}-r{j + 1:03d}",
                    bid,
                    t,
                    round(rng.uniform(8, 25) if t == "toilet" else rng.uniform(20, 80), 1),
                    j % 3,
                    f"occ-{bid}{j + 1:03d}",
                    None if rng.random() < 0.15 else f"nfc-{bid}{j + 1:03d}",
                )
                for j, t in enumerate(ROOM_MIX[kind])
            ]
            track = i < 4
            cleaners = [Cleaner(f"{bid}-c1", "cleaner", rng.randbytes(7), bid)]
            if track:
                cleaners += [
                    Cleaner(f"{bid}-t1", "trainee", rng.randbytes(7), bid, buddy=f"{bid}-c2"),
                    Cleaner(f"{bid}-c2", "buddy", rng.randbytes(7), bid),
                ]
            out.append(Building(bid, kind, track, rooms, cleaners))
        return Municipality(out)

    def export(self, m: Municipality, devices_csv: Path, cards_csv: Path) -> None:
        devices_csv.parent.mkdir(parents=True, exist_ok=True)
        with devices_csv.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["device", "kind", "building", "room", "room_type"])
            for r in m.rooms():
                if r.sensor:
                    w.writerow([r.sensor, "sensor", r.building, r.id, r.type])
                if r.station:
                    w.writerow([r.station, "station", r.building, r.id, r.type])
        pseudo = Pseudonymiser(self.site_key)
        with cards_csv.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["card", "role"])
            for c in m.cleaners():
                w.writerow([pseudo.card(c.uid), c.role])

    def plan(self, m: Municipality, day: date, now_ms: int) -> dict[str, list[PlannedRoom]]:
        return {
            b.id: [PlannedRoom(r, max(5.0, r.area_m2 * 0.3)) for r in b.rooms if r.station]
            for b in m.buildings
        }

    def end_of_day(self, day: date, now_ms: int) -> None:
        pass

    def alerts(self, now_ms: int) -> None:
        pass
