"""INSTA 800 quality inspections: a seeded random sample of a building's rooms, each room's
observed quality level against the level agreed for it, and the inspection approved or not.

For the CLI (backend/quality_cli.py), the API (backend/quality_api.py) and the monthly report::

    insp = plan(registry, settings.quality, "b001", date(2026, 11, 16), now_ms, "p0001")
    record(registry, insp.id, "b001-r004", 3, Defects(dust=2), "under the desks", now_ms)
    finish(registry, insp.id, now_ms)               # -> Inspection with `approved`
    cancel(registry, insp.id)                       # only while planned
    inspections(registry, "b001", first, last)      # -> [Inspection], newest first
    summary(registry, first, last, building=None)   # -> [BuildingQuality], one per building

The sample size and the acceptance number come from `quality.table` (lot size, i.e. the
building's inspected rooms, to sample size and the most failed rooms still approved).
Both are stored with the inspection, so a later change of the table does not re-judge it.
The sample's seed is derived from the building and the day (and `quality.seed_salt`), so an
inspection planned in advance is drawn again identically.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.registry import Registry, Room
from pletfri.settings import QualitySettings, SampleBand

LEVELS = range(0, 6)
Status = Literal["planned", "done"]


class QualityError(Exception):
    """An inspection request that cannot be done, worded for the person who made it."""


class InspectionNotFound(QualityError):
    pass


class InspectionConflict(QualityError):
    """The request does not fit the inspection's state (already planned, already finished)."""


class Defects(BaseModel):
    """Defects counted in one room, by INSTA 800's main categories."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dust: int = Field(0, ge=0, le=10_000)
    # Dirt and spots.
    dirt: int = Field(0, ge=0, le=10_000)
    litter: int = Field(0, ge=0, le=10_000)


class InspectedRoom(BaseModel):
    model_config = ConfigDict(frozen=True)

    room: str
    agreed: int
    # None until the inspector has recorded the room.
    observed: int | None
    defects: Defects
    note: str
    recorded_ms: int | None
    # observed >= agreed; None until recorded.
    approved: bool | None


class Inspection(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    building: str
    day: date
    inspector: str
    created_ms: int
    seed: int
    status: Status
    # Rooms of the building that could be drawn, and the most failed rooms still approved.
    lot_size: int
    accept_failed: int
    finished_ms: int | None
    # None until finished.
    approved: bool | None
    rooms: list[InspectedRoom]

    @property
    def failed(self) -> int:
        return sum(r.approved is False for r in self.rooms)

    @property
    def unrecorded(self) -> list[str]:
        return [r.room for r in self.rooms if r.observed is None]


class BuildingQuality(BaseModel):
    """One building's finished inspections over a period, for the report."""

    building: str
    # The building's name, empty if it has left the registry since.
    name: str
    inspections: int
    inspections_approved: int
    rooms_inspected: int
    rooms_approved: int
    # rooms_approved / rooms_inspected, 0 to 1; None without rooms.
    approval_rate: float | None
    # Mean of observed minus agreed level over the rooms: above 0 is better than agreed.
    mean_deviation: float | None


# --- the sample ------------------------------------------------------------------------------


def band(conf: QualitySettings, lot_size: int) -> SampleBand:
    """The table's band for a lot: the last one starting at or below it (else the first)."""
    found = conf.table[0]
    for b in conf.table:
        if b.lot_from <= lot_size:
            found = b
    return found


def sample_plan(conf: QualitySettings, lot_size: int) -> tuple[int, int]:
    """(rooms to inspect, most failed rooms still approved) for a lot of `lot_size` rooms.

    A lot smaller than its band's sample is inspected whole.
    """
    b = band(conf, lot_size)
    n = min(b.sample, lot_size)
    return n, min(b.accept_failed, max(n - 1, 0))


def seed(building: str, day: date, salt: str = "") -> int:
    """The sample's seed: the same building, day and salt always draw the same rooms."""
    digest = hashlib.sha256(f"{salt}\0{building}\0{day.isoformat()}".encode()).digest()
    # 63 bits: it fits SQLite's signed INTEGER.
    return int.from_bytes(digest[:8], "big") >> 1


def lot(registry: Registry, conf: QualitySettings, building: str) -> list[Room]:
    """The building's rooms that can be drawn, by id; unknown building: QualityError."""
    if registry.building(building) is None:
        raise QualityError(
            f"no building {building!r} in the registry; `pletfri registry show` counts them"
        )
    rooms = [r for r in registry.rooms(building) if r.type not in conf.exclude_room_types]
    if not rooms:
        raise QualityError(
            f"building {building!r} has no rooms to inspect"
            + (" outside quality.exclude_room_types" if conf.exclude_room_types else "")
        )
    return rooms


def draw(rooms: list[Room], n: int, seed_value: int) -> list[Room]:
    """`n` of `rooms` drawn at random with `seed_value`, in walking order (floor, zone, id)."""
    ordered = sorted(rooms, key=lambda r: r.id)
    chosen = random.Random(seed_value).sample(ordered, n)
    return sorted(chosen, key=lambda r: (r.floor, r.zone, r.id))


# --- changing --------------------------------------------------------------------------------


def plan(
    registry: Registry,
    conf: QualitySettings,
    building: str,
    day: date,
    now_ms: int,
    inspector: str = "",
) -> Inspection:
    """Draw and store the sample for an inspection of `building` on `day`."""
    rooms = lot(registry, conf, building)
    n, accept = sample_plan(conf, len(rooms))
    s = seed(building, day, conf.seed_salt)
    chosen = draw(rooms, n, s)
    with registry.transaction() as db:
        try:
            cur = db.execute(
                "INSERT INTO quality_inspections (building, day, inspector, created_ms, seed, "
                "lot_size, accept_failed) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (building, day.isoformat(), inspector, now_ms, s, len(rooms), accept),
            )
        except sqlite3.IntegrityError:
            [row] = db.execute(
                "SELECT id FROM quality_inspections WHERE building = ? AND day = ?",
                (building, day.isoformat()),
            ).fetchall()
            raise InspectionConflict(
                f"building {building!r} already has inspection {row[0]} on {day}; "
                f"record its rooms, or plan another day"
            ) from None
        number = cur.lastrowid
        db.executemany(
            "INSERT INTO quality_rooms (inspection, room, position, agreed) VALUES (?, ?, ?, ?)",
            [(number, r.id, i, r.quality_level) for i, r in enumerate(chosen)],
        )
    assert number is not None
    return get(registry, number)


def record(
    registry: Registry,
    inspection: int,
    room: str,
    level: int,
    defects: Defects | None = None,
    note: str = "",
    now_ms: int = 0,
) -> Inspection:
    """Record the observed quality level (0-5) of one sampled room; again to correct it."""
    if level not in LEVELS:
        raise QualityError(f"level {level}: an INSTA 800 quality level is 0 to 5")
    with registry.transaction() as db:
        _open(db, inspection)
        cur = db.execute(
            "UPDATE quality_rooms SET observed = ?, defects = ?, note = ?, recorded_ms = ? "
            "WHERE inspection = ? AND room = ?",
            (
                level,
                (defects or Defects()).model_dump_json(),
                note.strip(),
                now_ms,
                inspection,
                room,
            ),
        )
        if cur.rowcount == 0:
            sampled = [r[0] for r in db.execute(
                "SELECT room FROM quality_rooms WHERE inspection = ? ORDER BY room", (inspection,)
            )]  # fmt: skip
            raise QualityError(
                f"room {room!r} is not in inspection {inspection}'s sample; "
                f"it has {', '.join(sampled)}"
            )
    return get(registry, inspection)


def finish(registry: Registry, inspection: int, now_ms: int) -> Inspection:
    """Close an inspection whose rooms are all recorded, and judge it: approved when at
    most its `accept_failed` rooms are below their agreed level."""
    with registry.transaction() as db:
        _open(db, inspection)
        rows = db.execute(
            "SELECT room, agreed, observed FROM quality_rooms WHERE inspection = ? ORDER BY room",
            (inspection,),
        ).fetchall()
        missing = [r["room"] for r in rows if r["observed"] is None]
        if missing:
            raise QualityError(
                f"inspection {inspection} has rooms not recorded yet: {', '.join(missing)}; "
                f"record them first (`pletfri quality record {inspection} ROOM LEVEL`)"
            )
        failed = sum(r["observed"] < r["agreed"] for r in rows)
        [accept] = db.execute(
            "SELECT accept_failed FROM quality_inspections WHERE id = ?", (inspection,)
        ).fetchone()
        db.execute(
            "UPDATE quality_inspections SET status = 'done', finished_ms = ?, approved = ? "
            "WHERE id = ?",
            (now_ms, int(failed <= accept), inspection),
        )
    return get(registry, inspection)


def cancel(registry: Registry, inspection: int) -> None:
    """Delete a planned inspection (a wrong building or day); a finished one is kept."""
    with registry.transaction() as db:
        _open(db, inspection)
        db.execute("DELETE FROM quality_inspections WHERE id = ?", (inspection,))


def _open(db: sqlite3.Connection, inspection: int) -> None:
    """Refuse an unknown or finished inspection."""
    found = db.execute(
        "SELECT status FROM quality_inspections WHERE id = ?", (inspection,)
    ).fetchone()
    if found is None:
        raise InspectionNotFound(f"no inspection {inspection}; `pletfri quality list` shows them")
    if found["status"] == "done":
        raise InspectionConflict(f"inspection {inspection} is finished; its results are final")


# --- reading ---------------------------------------------------------------------------------


def get(registry: Registry, inspection: int) -> Inspection:
    found = _read(registry, "WHERE id = ?", (inspection,))
    if not found:
        raise InspectionNotFound(f"no inspection {inspection}; `pletfri quality list` shows them")
    return found[0]


def inspections(
    registry: Registry,
    building: str | None = None,
    first: date | None = None,
    last: date | None = None,
    status: Status | None = None,
    inspector: str | None = None,
) -> list[Inspection]:
    """Inspections (with their rooms), newest day first, optionally of one building, from
    `first` to `last` (inclusive), in one status and by one inspector."""
    clauses, args = [], []
    for sql, value in (
        ("building = ?", building),
        ("day >= ?", first.isoformat() if first else None),
        ("day <= ?", last.isoformat() if last else None),
        ("status = ?", status),
        ("inspector = ?", inspector),
    ):
        if value is not None:
            clauses.append(sql)
            args.append(value)
    return _read(registry, ("WHERE " + " AND ".join(clauses)) if clauses else "", tuple(args))


def _read(registry: Registry, where: str, args: tuple[object, ...]) -> list[Inspection]:
    heads = registry.query(
        f"SELECT * FROM quality_inspections {where} ORDER BY day DESC, building, id", args
    )
    if not heads:
        return []
    ids = [h["id"] for h in heads]
    rooms: dict[int, list[InspectedRoom]] = {i: [] for i in ids}
    # Chunks well under SQLite's limit of bound variables.
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for r in registry.query(
            f"SELECT * FROM quality_rooms WHERE inspection IN ({','.join('?' * len(chunk))}) "
            "ORDER BY inspection, position",
            tuple(chunk),
        ):
            observed = r["observed"]
            rooms[r["inspection"]].append(
                InspectedRoom(
                    room=r["room"],
                    agreed=r["agreed"],
                    observed=observed,
                    defects=Defects(**json.loads(r["defects"])),
                    note=r["note"],
                    recorded_ms=r["recorded_ms"],
                    approved=None if observed is None else observed >= r["agreed"],
                )
            )
    return [
        Inspection(
            id=h["id"],
            building=h["building"],
            day=date.fromisoformat(h["day"]),
            inspector=h["inspector"],
            created_ms=h["created_ms"],
            seed=h["seed"],
            status=h["status"],
            lot_size=h["lot_size"],
            accept_failed=h["accept_failed"],
            finished_ms=h["finished_ms"],
            approved=None if h["approved"] is None else bool(h["approved"]),
            rooms=rooms[h["id"]],
        )
        for h in heads
    ]


def summary(
    registry: Registry, first: date, last: date, building: str | None = None
) -> list[BuildingQuality]:
    """Per building, by id: its finished inspections from `first` to `last` (inclusive).

    Buildings without a finished inspection in the period have no row; `total` adds rows up.
    """
    if last < first:
        raise QualityError(f"the period ends ({last}) before it begins ({first})")
    names = {b.id: b.name for b in registry.buildings()}
    by_building: dict[str, list[Inspection]] = {}
    for insp in inspections(registry, building, first, last, "done"):
        by_building.setdefault(insp.building, []).append(insp)
    return [_summarise(b, names.get(b, ""), found) for b, found in sorted(by_building.items())]


def total(rows: list[BuildingQuality]) -> BuildingQuality:
    """The rows of `summary` as one row (building "", mean deviation weighted by rooms)."""
    rooms = sum(r.rooms_inspected for r in rows)
    approved = sum(r.rooms_approved for r in rows)
    deviation = sum((r.mean_deviation or 0) * r.rooms_inspected for r in rows)
    return BuildingQuality(
        building="",
        name="",
        inspections=sum(r.inspections for r in rows),
        inspections_approved=sum(r.inspections_approved for r in rows),
        rooms_inspected=rooms,
        rooms_approved=approved,
        approval_rate=approved / rooms if rooms else None,
        mean_deviation=deviation / rooms if rooms else None,
    )


def _summarise(building: str, name: str, found: list[Inspection]) -> BuildingQuality:
    rooms = [r for insp in found for r in insp.rooms if r.observed is not None]
    approved = sum(bool(r.approved) for r in rooms)
    deviation = sum(r.observed - r.agreed for r in rooms if r.observed is not None)
    return BuildingQuality(
        building=building,
        name=name,
        inspections=len(found),
        inspections_approved=sum(bool(i.approved) for i in found),
        rooms_inspected=len(rooms),
        rooms_approved=approved,
        approval_rate=approved / len(rooms) if rooms else None,
        mean_deviation=deviation / len(rooms) if rooms else None,
    )
