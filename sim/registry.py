"""The demo's registry: the backend's sample municipality, cut to the buildings asked for.

The registry goes into the backend's SQLite database and out as the gateway's files
(devices.csv, cards.csv), as in production; the simulator gets its own plain view
(sim/world.py) with each cleaner's raw card UID, which only a card itself would know.
"""

from __future__ import annotations

import hashlib
from itertools import chain, zip_longest
from pathlib import Path

from backend.registry import Device, Registry, RegistryData
from backend.registry.gateway_files import export_gateway_files
from backend.registry.sample import SampleOptions, card_uid, generate
from sim.world import Building, Cleaner, Municipality, Room

# After the first two training tracks (the town hall and a school), the other kinds first.
KIND_ORDER = ("daycare", "other", "school", "townhall")
WORKERS = ("cleaner", "trainee", "buddy")


def _pick(data: RegistryData, n: int) -> list[str]:
    """`n` building ids, training tracks first, then the kinds in turn (a fair small sample)."""
    tracks = [b.id for b in data.buildings if b.training_track]
    by_kind = [
        [b.id for b in data.buildings if b.kind == k and b.id not in tracks] for k in KIND_ORDER
    ]
    mixed = [b for b in chain.from_iterable(zip_longest(*by_kind)) if b is not None]
    head = tracks[:2]
    rest = [b for b in mixed + tracks[2:] if b not in head]
    return (head + rest)[:n]


def subset(data: RegistryData, n: int) -> RegistryData:
    keep = set(_pick(data, n))
    rooms = [r for r in data.rooms if r.building in keep]
    room_ids = {r.id for r in rooms}
    leaders = [ld for ld in data.leaders if ld.building in keep]
    lead_ids = {ld.person for ld in leaders}
    people = [p for p in data.people if p.building in keep or p.id in lead_ids]
    person_ids = {p.id for p in people}
    return RegistryData(
        buildings=[b for b in data.buildings if b.id in keep],
        rooms=rooms,
        devices=[d for d in data.devices if d.room in room_ids],
        people=people,
        cards=[c for c in data.cards if c.person in person_ids],
        leaders=leaders,
    )


def sticker_uid(seed: int, room: str) -> bytes:
    """The 7-byte UID of the sticker in `room`: 04 (NXP) and six bytes of a hash."""
    return b"\x04" + hashlib.sha256(f"{seed}:sticker:{room}".encode()).digest()[:6]


def with_stickers(data: RegistryData, seed: int) -> RegistryData:
    """A sticker in every room that has no station (docs/stickers.md), as an installer would."""
    stations = {d.room for d in data.devices if d.kind == "station"}
    stickers = [
        Device(id=f"tag-{sticker_uid(seed, r.id).hex()}", kind="sticker", room=r.id)
        for r in data.rooms
        if r.id not in stations
    ]
    return data.model_copy(update={"devices": [*data.devices, *stickers]})


def municipality(data: RegistryData, seed: int) -> Municipality:
    placed: dict[str, dict[str, str]] = {"sensor": {}, "station": {}, "sticker": {}}
    for d in data.devices:
        placed[d.kind][d.room] = d.id
    sensor, station, sticker = placed["sensor"], placed["station"], placed["sticker"]
    buildings = {b.id: Building(b.id, b.kind, b.training_track) for b in data.buildings}
    for r in data.rooms:
        buildings[r.building].rooms.append(
            Room(r.id, r.building, r.type, r.area_m2, r.floor, sensor.get(r.id),
                 station.get(r.id), sticker.get(r.id))
        )
    for p in data.people:
        if p.role in WORKERS and p.building in buildings:
            buildings[p.building].cleaners.append(
                Cleaner(p.id, p.role, card_uid(seed, p.id), p.building, p.buddy)
            )
    return Municipality(list(buildings.values()))


def load(
    database: Path, devices_csv: Path, cards_csv: Path, buildings: int, seed: int
) -> tuple[RegistryData, Municipality]:
    """Generate the sample for `seed`, keep `buildings` of it, store and export it."""
    data = with_stickers(subset(generate(SampleOptions(seed=seed)), buildings), seed)
    database.parent.mkdir(parents=True, exist_ok=True)
    with Registry(database) as reg:
        reg.replace(data)
        export_gateway_files(reg, devices_csv, cards_csv)
    return data, municipality(data, seed)
