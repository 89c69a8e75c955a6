"""The backend's SQLite database: the registry, stored plans and API tokens, with migrations.

Each migration runs once, in order, inside a transaction; ``PRAGMA user_version`` records how
many have run, so a database made by an older version is brought up to date when opened.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

MIGRATIONS: list[str] = [
    # 1: the registry.
    """
    CREATE TABLE buildings (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        address TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL CHECK (kind IN ('school', 'daycare', 'townhall', 'other')),
        training_track INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE rooms (
        id TEXT PRIMARY KEY,
        building TEXT NOT NULL REFERENCES buildings(id) ON DELETE CASCADE,
        name TEXT NOT NULL DEFAULT '',
        type TEXT NOT NULL,
        area_m2 REAL NOT NULL CHECK (area_m2 > 0),
        floor INTEGER NOT NULL DEFAULT 0,
        zone TEXT NOT NULL DEFAULT '',
        quality_level INTEGER NOT NULL DEFAULT 3 CHECK (quality_level BETWEEN 0 AND 5)
    );
    CREATE INDEX rooms_building ON rooms(building);
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('station', 'sensor')),
        room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        installed TEXT
    );
    CREATE INDEX devices_room ON devices(room);
    CREATE TABLE people (
        id TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('cleaner', 'trainee', 'buddy', 'service_leader')),
        team TEXT NOT NULL DEFAULT '',
        building TEXT REFERENCES buildings(id) ON DELETE SET NULL,
        buddy TEXT REFERENCES people(id) ON DELETE SET NULL,
        name TEXT NOT NULL DEFAULT '',
        email TEXT,
        language TEXT NOT NULL DEFAULT 'da' CHECK (language IN ('da', 'en')),
        webhook TEXT,
        quiet_hours TEXT
    );
    CREATE TABLE cards (
        card TEXT PRIMARY KEY,
        person TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE
    );
    CREATE INDEX cards_person ON cards(person);
    CREATE TABLE leaders (
        building TEXT NOT NULL REFERENCES buildings(id) ON DELETE CASCADE,
        person TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        PRIMARY KEY (building, person)
    );
    """,
    # 2: plans as made, so verification compares against what was planned at the time.
    """
    CREATE TABLE plans (
        day TEXT NOT NULL,
        shift TEXT NOT NULL,
        building TEXT NOT NULL,
        room TEXT NOT NULL,
        due INTEGER NOT NULL,
        reason TEXT NOT NULL,
        score REAL NOT NULL,
        since_ms INTEGER,
        minutes REAL NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        made_ms INTEGER NOT NULL,
        PRIMARY KEY (day, shift, room)
    );
    CREATE INDEX plans_building_day ON plans(building, day);
    CREATE INDEX plans_end ON plans(end_ms);
    """,
    # 3: API tokens, stored as SHA-256 digests only.
    """
    CREATE TABLE tokens (
        digest TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('service_leader', 'facility', 'admin')),
        label TEXT NOT NULL DEFAULT '',
        created_ms INTEGER NOT NULL
    );
    """,
    # 4: whether a planned room has a station, i.e. whether its cleaning can be verified.
    """
    ALTER TABLE plans ADD COLUMN station INTEGER NOT NULL DEFAULT 1;
    """,
    # 5: a service leader's token may be bound to the person, who then sees their buildings.
    """
    ALTER TABLE tokens ADD COLUMN person TEXT REFERENCES people(id) ON DELETE CASCADE;
    """,
    # 6: INSTA 800 quality inspections (backend/quality.py). Building and room are kept as
    # text, not references: replacing the registry must not delete the inspections' history.
    """
    CREATE TABLE quality_inspections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        building TEXT NOT NULL,
        day TEXT NOT NULL,
        inspector TEXT NOT NULL DEFAULT '',
        created_ms INTEGER NOT NULL,
        seed INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'done')),
        lot_size INTEGER NOT NULL,
        accept_failed INTEGER NOT NULL,
        finished_ms INTEGER,
        approved INTEGER,
        UNIQUE (building, day)
    );
    CREATE INDEX quality_inspections_day ON quality_inspections(day);
    CREATE TABLE quality_rooms (
        inspection INTEGER NOT NULL REFERENCES quality_inspections(id) ON DELETE CASCADE,
        room TEXT NOT NULL,
        position INTEGER NOT NULL DEFAULT 0,
        agreed INTEGER NOT NULL CHECK (agreed BETWEEN 0 AND 5),
        observed INTEGER CHECK (observed BETWEEN 0 AND 5),
        defects TEXT NOT NULL DEFAULT '{}',
        note TEXT NOT NULL DEFAULT '',
        recorded_ms INTEGER,
        PRIMARY KEY (inspection, room)
    );
    """,
    # 7: NFC stickers (backend/stickers/): a third device kind, each sticker's last accepted
    # SDM read counter, and taps waiting for the broker. The counters are not references to
    # devices: replacing the registry must not forget them, or old URLs would work again.
    """
    CREATE TABLE devices_new (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('station', 'sensor', 'sticker')),
        room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        installed TEXT
    );
    INSERT INTO devices_new (id, kind, room, installed)
        SELECT id, kind, room, installed FROM devices;
    DROP TABLE devices;
    ALTER TABLE devices_new RENAME TO devices;
    CREATE INDEX devices_room ON devices(room);
    CREATE TABLE sticker_counters (
        device TEXT PRIMARY KEY,
        generation INTEGER NOT NULL,
        counter INTEGER NOT NULL,
        seen_ms INTEGER NOT NULL
    );
    CREATE TABLE sticker_spool (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        device TEXT NOT NULL,
        seq INTEGER NOT NULL,
        payload TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    );
    """,
]


class SchemaError(Exception):
    pass


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path` and bring its schema up to date."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA journal_mode = WAL")
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise SchemaError(
            f"{path} has schema version {version}, newer than this Pletfri ({len(MIGRATIONS)}); "
            "upgrade Pletfri or use another backend.database_file"
        )
    for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
        db.execute("BEGIN")
        try:
            for statement in sql.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except sqlite3.Error:
            db.execute("ROLLBACK")
            raise
    return db
