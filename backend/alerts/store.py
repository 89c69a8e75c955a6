"""The alerts' own tables in the backend's SQLite file: alerts, the outbox, quiet hours, digests.

A partial unique index keeps one open alert per rule and subject even if two evaluations
race. Every change marks the alert's InfluxDB point dirty until it has been written.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.alerts.model import Alert, Finding

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert (
    id INTEGER PRIMARY KEY,
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    building TEXT NOT NULL,
    room TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL,
    params TEXT NOT NULL,
    opened_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    level INTEGER NOT NULL DEFAULT 0,
    notify_ms INTEGER,
    escalated_ms INTEGER,
    acked_ms INTEGER,
    acked_by TEXT,
    ack_note TEXT,
    resolved_ms INTEGER,
    point_dirty INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX IF NOT EXISTS alert_one_open ON alert (rule, subject)
    WHERE resolved_ms IS NULL;
CREATE INDEX IF NOT EXISTS alert_subject ON alert (rule, subject);
CREATE INDEX IF NOT EXISTS alert_dirty ON alert (point_dirty) WHERE point_dirty = 1;

CREATE TABLE IF NOT EXISTS alert_outbox (
    id INTEGER PRIMARY KEY,
    alert_id INTEGER REFERENCES alert (id),
    event TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    leader TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL,
    due_ms INTEGER NOT NULL,
    sent_ms INTEGER,
    failed_ms INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX IF NOT EXISTS alert_outbox_pending ON alert_outbox (due_ms)
    WHERE sent_ms IS NULL AND failed_ms IS NULL;

CREATE TABLE IF NOT EXISTS alert_quiet (
    leader TEXT PRIMARY KEY,
    hours TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS alert_digest (
    leader TEXT NOT NULL,
    day TEXT NOT NULL,
    queued_ms INTEGER NOT NULL,
    PRIMARY KEY (leader, day)
);
"""

_ALERT_COLUMNS = (
    "id, rule, subject, building, room, severity, params, opened_ms, updated_ms, level, "
    "notify_ms, escalated_ms, acked_ms, acked_by, ack_note, resolved_ms"
)


class AlertNotFound(LookupError):
    pass


@dataclass(slots=True)
class OutboxItem:
    id: int
    alert_id: int | None
    event: str
    channel: str
    address: str
    leader: str
    message: dict[str, Any]
    due_ms: int
    sent_ms: int | None
    failed_ms: int | None
    attempts: int
    error: str | None


def _alert(row: sqlite3.Row) -> Alert:
    d = dict(row)
    d["params"] = json.loads(d["params"])
    return Alert(**d)


def _item(row: sqlite3.Row) -> OutboxItem:
    d = dict(row)
    d["message"] = json.loads(d["message"])
    return OutboxItem(**d)


class AlertStore:
    """The alert tables; one connection, used from one thread at a time."""

    def __init__(self, database_file: Path) -> None:
        database_file.parent.mkdir(parents=True, exist_ok=True)
        # The backend writes the same file; wait for its locks instead of failing.
        self.db = sqlite3.connect(database_file, timeout=30, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db:
            yield

    # Alerts

    def open_alert(self, rule: str, subject: str) -> Alert | None:
        row = self.db.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alert "
            "WHERE rule = ? AND subject = ? AND resolved_ms IS NULL",
            (rule, subject),
        ).fetchone()
        return _alert(row) if row else None

    def ever_raised(self, rule: str, subject: str) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM alert WHERE rule = ? AND subject = ? LIMIT 1", (rule, subject)
            ).fetchone()
            is not None
        )

    def insert(self, f: Finding, now_ms: int) -> Alert:
        cur = self.db.execute(
            "INSERT INTO alert (rule, subject, building, room, severity, params, opened_ms, "
            "updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                f.rule,
                f.subject,
                f.building,
                f.room,
                f.severity,
                json.dumps(f.params),
                now_ms,
                now_ms,
            ),
        )
        return self.get(int(cur.lastrowid or 0))

    def get(self, alert_id: int) -> Alert:
        row = self.db.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alert WHERE id = ?", (alert_id,)
        ).fetchone()
        if row is None:
            raise AlertNotFound(f"there is no alert {alert_id}; `pletfri alerts list` shows them")
        return _alert(row)

    def update(self, alert_id: int, now_ms: int, **values: Any) -> Alert:
        if "params" in values:
            values["params"] = json.dumps(values["params"])
        sets = ", ".join(f"{k} = ?" for k in values)
        self.db.execute(
            f"UPDATE alert SET {sets}, updated_ms = ?, point_dirty = 1 WHERE id = ?",
            (*values.values(), now_ms, alert_id),
        )
        return self.get(alert_id)

    def update_params(self, alert_id: int, params: dict[str, Any]) -> None:
        """New details of a still-open condition; the point does not change."""
        self.db.execute("UPDATE alert SET params = ? WHERE id = ?", (json.dumps(params), alert_id))

    def open_alerts(self, rule: str | None = None) -> list[Alert]:
        q = f"SELECT {_ALERT_COLUMNS} FROM alert WHERE resolved_ms IS NULL"
        args: tuple[Any, ...] = ()
        if rule is not None:
            q += " AND rule = ?"
            args = (rule,)
        return [_alert(r) for r in self.db.execute(q + " ORDER BY id", args)]

    def alerts(
        self,
        state: str | None = None,
        building: str | None = None,
        rule: str | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        """Newest first; state is open (incl. acknowledged), acknowledged, resolved or None."""
        where, args = [], []
        if state == "open":
            where.append("resolved_ms IS NULL")
        elif state == "acknowledged":
            where.append("resolved_ms IS NULL AND acked_ms IS NOT NULL")
        elif state == "resolved":
            where.append("resolved_ms IS NOT NULL")
        elif state is not None:
            raise ValueError(f"state {state!r}: use open, acknowledged or resolved")
        if building:
            where.append("building = ?")
            args.append(building)
        if rule:
            where.append("rule = ?")
            args.append(rule)
        q = f"SELECT {_ALERT_COLUMNS} FROM alert"
        if where:
            q += " WHERE " + " AND ".join(where)
        q += " ORDER BY id DESC LIMIT ?"
        return [_alert(r) for r in self.db.execute(q, (*args, limit))]

    def dirty(self) -> list[Alert]:
        rows = self.db.execute(f"SELECT {_ALERT_COLUMNS} FROM alert WHERE point_dirty = 1")
        return [_alert(r) for r in rows]

    def mark_clean(self, alerts: list[Alert]) -> None:
        self.db.executemany(
            "UPDATE alert SET point_dirty = 0 WHERE id = ? AND updated_ms = ?",
            [(a.id, a.updated_ms) for a in alerts],
        )

    # Outbox

    def queue(
        self,
        alert_id: int | None,
        event: str,
        channel: str,
        address: str,
        leader: str,
        message: dict[str, Any],
        due_ms: int,
    ) -> None:
        self.db.execute(
            "INSERT INTO alert_outbox (alert_id, event, channel, address, leader, message, "
            "due_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (alert_id, event, channel, address, leader, json.dumps(message), due_ms),
        )

    def due(self, now_ms: int) -> list[OutboxItem]:
        rows = self.db.execute(
            "SELECT * FROM alert_outbox WHERE sent_ms IS NULL AND failed_ms IS NULL "
            "AND due_ms <= ? ORDER BY id",
            (now_ms,),
        )
        return [_item(r) for r in rows]

    def outbox(self, alert_id: int | None = None, failed: bool = False) -> list[OutboxItem]:
        q, args = "SELECT * FROM alert_outbox WHERE 1 = 1", []
        if alert_id is not None:
            q += " AND alert_id = ?"
            args.append(alert_id)
        if failed:
            q += " AND failed_ms IS NOT NULL"
        return [_item(r) for r in self.db.execute(q + " ORDER BY id", args)]

    def sent_to_leader(self, alert_id: int) -> bool:
        """Has a leader (not only the MQTT topic) already been told about this alert?"""
        row = self.db.execute(
            "SELECT 1 FROM alert_outbox WHERE alert_id = ? AND leader != '' "
            "AND sent_ms IS NOT NULL LIMIT 1",
            (alert_id,),
        ).fetchone()
        return row is not None

    def cancel_pending(self, alert_id: int) -> None:
        self.db.execute(
            "DELETE FROM alert_outbox WHERE alert_id = ? AND leader != '' "
            "AND sent_ms IS NULL AND failed_ms IS NULL",
            (alert_id,),
        )

    def mark_sent(self, item_id: int, now_ms: int, attempts: int) -> None:
        self.db.execute(
            "UPDATE alert_outbox SET sent_ms = ?, attempts = attempts + ?, error = NULL "
            "WHERE id = ?",
            (now_ms, attempts, item_id),
        )

    def mark_failed(self, item_id: int, now_ms: int, attempts: int, error: str) -> None:
        self.db.execute(
            "UPDATE alert_outbox SET failed_ms = ?, attempts = attempts + ?, error = ? "
            "WHERE id = ?",
            (now_ms, attempts, error, item_id),
        )

    def requeue_failed(self, now_ms: int) -> int:
        cur = self.db.execute(
            "UPDATE alert_outbox SET failed_ms = NULL, due_ms = ? WHERE failed_ms IS NOT NULL",
            (now_ms,),
        )
        return cur.rowcount

    def prune(self, before_ms: int) -> int:
        """Forget alerts resolved before `before_ms` with their messages, and old digests.

        Alerts name cards and rooms: they follow the backend's retention of person-level data.
        """
        self.db.execute(
            "DELETE FROM alert_outbox WHERE alert_id IN "
            "(SELECT id FROM alert WHERE resolved_ms < ?)",
            (before_ms,),
        )
        self.db.execute(
            "DELETE FROM alert_outbox WHERE alert_id IS NULL AND due_ms < ? "
            "AND (sent_ms IS NOT NULL OR failed_ms IS NOT NULL)",
            (before_ms,),
        )
        cur = self.db.execute("DELETE FROM alert WHERE resolved_ms < ?", (before_ms,))
        self.db.execute("DELETE FROM alert_digest WHERE queued_ms < ?", (before_ms,))
        return cur.rowcount

    # Quiet hours and digests

    def quiet_hours(self, leader: str) -> str | None:
        row = self.db.execute(
            "SELECT hours FROM alert_quiet WHERE leader = ?", (leader,)
        ).fetchone()
        return row["hours"] if row else None

    def set_quiet_hours(self, leader: str, hours: str) -> None:
        self.db.execute(
            "INSERT INTO alert_quiet (leader, hours) VALUES (?, ?) "
            "ON CONFLICT (leader) DO UPDATE SET hours = excluded.hours",
            (leader, hours),
        )

    def claim_digest(self, leader: str, day: str, now_ms: int) -> bool:
        """True the first time for this leader and day: the caller queues the digest."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO alert_digest (leader, day, queued_ms) VALUES (?, ?, ?)",
            (leader, day, now_ms),
        )
        return cur.rowcount == 1
