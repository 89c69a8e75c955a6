"""Reading and changing the registry in SQLite: the one way other modules reach it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from backend.registry.model import (
    SECTIONS,
    Building,
    Card,
    Device,
    Leader,
    Person,
    Record,
    RegistryData,
    Room,
    reference_problems,
)
from backend.registry.schema import connect

R = TypeVar("R", bound=Record)


class RegistryError(Exception):
    """A change the registry refuses, worded for the person who asked for it."""


@dataclass(frozen=True, slots=True)
class PlacedDevice:
    """A device with where it is: what the gateway and the need topic work from."""

    device: str
    kind: str
    building: str
    room: str
    room_type: str


_TABLE_COLUMNS = {name: list(model.model_fields) for name, model in SECTIONS.items()}
_KEYS = {name: ["id"] for name in SECTIONS} | {"cards": ["card"], "leaders": ["building", "person"]}


class Registry:
    """The registry in one SQLite file; safe to share between threads (one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = connect(path)
        self.lock = threading.RLock()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def _read(self, model: type[R], sql: str, args: tuple[Any, ...] = ()) -> list[R]:
        return [model.model_validate(dict(row)) for row in self.query(sql, args)]

    # --- reading -------------------------------------------------------------------------

    def buildings(self) -> list[Building]:
        return self._read(Building, "SELECT * FROM buildings ORDER BY id")

    def building(self, building_id: str) -> Building | None:
        found = self._read(Building, "SELECT * FROM buildings WHERE id = ?", (building_id,))
        return found[0] if found else None

    def rooms(self, building: str | None = None) -> list[Room]:
        if building is None:
            return self._read(Room, "SELECT * FROM rooms ORDER BY id")
        return self._read(Room, "SELECT * FROM rooms WHERE building = ? ORDER BY id", (building,))

    def room(self, room_id: str) -> Room | None:
        found = self._read(Room, "SELECT * FROM rooms WHERE id = ?", (room_id,))
        return found[0] if found else None

    def devices(self, building: str | None = None) -> list[Device]:
        sql = "SELECT d.* FROM devices d JOIN rooms r ON r.id = d.room"
        if building is None:
            return self._read(Device, sql + " ORDER BY d.id")
        return self._read(Device, sql + " WHERE r.building = ? ORDER BY d.id", (building,))

    def placed_devices(self, kind: str | None = None) -> list[PlacedDevice]:
        rows = self.query(
            "SELECT d.id, d.kind, r.building, r.id, r.type FROM devices d "
            "JOIN rooms r ON r.id = d.room "
            + ("WHERE d.kind = ? " if kind else "")
            + "ORDER BY d.id",
            (kind,) if kind else (),
        )
        return [PlacedDevice(*row) for row in rows]

    def people(self, role: str | None = None, building: str | None = None) -> list[Person]:
        clauses, args = [], []
        if role is not None:
            clauses.append("role = ?")
            args.append(role)
        if building is not None:
            clauses.append("building = ?")
            args.append(building)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        return self._read(Person, f"SELECT * FROM people{where} ORDER BY id", tuple(args))

    def person(self, person_id: str) -> Person | None:
        found = self._read(Person, "SELECT * FROM people WHERE id = ?", (person_id,))
        return found[0] if found else None

    def cards(self, person: str | None = None) -> list[Card]:
        if person is None:
            return self._read(Card, "SELECT * FROM cards ORDER BY card")
        return self._read(Card, "SELECT * FROM cards WHERE person = ? ORDER BY card", (person,))

    def card_owners(self) -> dict[str, Person]:
        """Card pseudonym to its holder, for pairing taps into visits."""
        people = {p.id: p for p in self.people()}
        return {c.card: people[c.person] for c in self.cards()}

    def leader_links(self) -> list[Leader]:
        return self._read(Leader, "SELECT * FROM leaders ORDER BY building, person")

    def leaders(self, building: str) -> list[Person]:
        """The service leaders of a building, who receive its alerts."""
        return self._read(
            Person,
            "SELECT p.* FROM people p JOIN leaders l ON l.person = p.id "
            "WHERE l.building = ? ORDER BY p.id",
            (building,),
        )

    def led_buildings(self, person: str) -> list[str]:
        rows = self.query("SELECT building FROM leaders WHERE person = ? ORDER BY 1", (person,))
        return [r[0] for r in rows]

    def counts(self) -> dict[str, int]:
        return {name: self.query(f"SELECT count(*) FROM {name}")[0][0] for name in SECTIONS}

    def data(self) -> RegistryData:
        """The whole registry, e.g. for export."""
        return RegistryData(
            buildings=self.buildings(),
            rooms=self.rooms(),
            devices=self.devices(),
            people=self.people(),
            cards=self.cards(),
            leaders=self.leader_links(),
        )

    # --- changing ------------------------------------------------------------------------

    def replace(self, data: RegistryData) -> None:
        """Make the registry exactly `data`, all or nothing."""
        self._check(data)
        with self.transaction() as db:
            for name in reversed(SECTIONS):
                db.execute(f"DELETE FROM {name}")
            self._upsert(db, data)

    def merge(self, data: RegistryData) -> None:
        """Add or update the records in `data`, keeping the others."""
        merged = self.data()
        for name in SECTIONS:
            key = _key(name)
            current = {key(r): r for r in getattr(merged, name)}
            current.update({key(r): r for r in getattr(data, name)})
            setattr(merged, name, list(current.values()))
        self._check(merged)
        with self.transaction() as db:
            self._upsert(db, data)

    def remove(self, section: str, key: str) -> bool:
        """Delete one record (its dependants go with it); False if it was not there."""
        if section not in SECTIONS or section == "leaders":
            raise RegistryError(f"cannot remove from {section!r}; one of {', '.join(SECTIONS)}")
        column = "card" if section == "cards" else "id"
        with self.transaction() as db:
            cur = db.execute(f"DELETE FROM {section} WHERE {column} = ?", (key,))
        return cur.rowcount > 0

    def _check(self, data: RegistryData) -> None:
        problems = reference_problems(data)
        if problems:
            shown = "; ".join(f"{s}[{i}]: {p}" for s, i, p in problems[:10])
            more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
            raise RegistryError(f"the registry would be inconsistent: {shown}{more}")

    @staticmethod
    def _upsert(db: sqlite3.Connection, data: RegistryData) -> None:
        # An update in place, never delete-and-insert: a deleted building would take its
        # rooms and devices with it (ON DELETE CASCADE).
        # People reference each other (buddy): insert them without, then set the links.
        for name, columns in _TABLE_COLUMNS.items():
            records = getattr(data, name)
            if not records:
                continue
            keys = _KEYS[name]
            rest = [c for c in columns if c not in keys]
            update = (
                f"DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in rest)}"
                if rest
                else "DO NOTHING"
            )
            sql = (
                f"INSERT INTO {name} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)}) "
                f"ON CONFLICT ({', '.join(keys)}) {update}"
            )
            rows = []
            for r in records:
                values = r.model_dump()
                if name == "people":
                    values["buddy"] = None
                rows.append([values[c] for c in columns])
            db.executemany(sql, rows)
        db.executemany(
            "UPDATE people SET buddy = ? WHERE id = ?",
            [(p.buddy, p.id) for p in data.people if p.buddy],
        )


def _key(section: str) -> Any:
    if section == "cards":
        return lambda r: r.card
    if section == "leaders":
        return lambda r: (r.building, r.person)
    return lambda r: r.id
