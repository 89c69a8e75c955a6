"""Plans as they were made, kept in the backend's SQLite file for verification and the API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from backend.cleaning.planner import Plan, PlanEntry
from backend.registry import Registry

_COLUMNS = (
    "day, shift, building, room, due, reason, score, since_ms, minutes, start_ms, end_ms, made_ms, "
    "station"
)


def save(registry: Registry, plans: Iterable[Plan]) -> None:
    """Store plans, replacing any earlier version of the same building, day and shift."""
    with registry.transaction() as db:
        for p in plans:
            db.execute(
                "DELETE FROM plans WHERE day = ? AND shift = ? AND building = ?",
                (p.day.isoformat(), p.shift, p.building),
            )
            db.executemany(
                f"INSERT INTO plans ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        p.day.isoformat(), p.shift, p.building, e.room, e.due, e.reason,
                        e.score, e.since_ms, e.minutes, p.start_ms, p.end_ms, p.made_ms,
                        e.station,
                    )
                    for e in p.due + p.skip
                ],
            )  # fmt: skip


def load(
    registry: Registry, day: date, building: str | None = None, shift: str | None = None
) -> list[Plan]:
    """The stored plans of a day (per building and shift), routes rebuilt from the registry."""
    clauses, args = ["p.day = ?"], [day.isoformat()]
    if building is not None:
        clauses.append("p.building = ?")
        args.append(building)
    if shift is not None:
        clauses.append("p.shift = ?")
        args.append(shift)
    rows = registry.query(
        "SELECT p.*, r.type, r.floor, r.zone FROM plans p JOIN rooms r ON r.id = p.room "
        f"WHERE {' AND '.join(clauses)} ORDER BY p.building, p.start_ms, r.floor, r.zone, p.room",
        tuple(args),
    )
    plans: dict[tuple[str, str], Plan] = {}
    for row in rows:
        key = (row["building"], row["shift"])
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = Plan(
                day, row["shift"], row["building"], row["start_ms"], row["end_ms"], row["made_ms"]
            )
        entry = PlanEntry(
            row["room"], row["building"], row["type"], row["floor"], row["zone"], bool(row["due"]),
            row["reason"], row["score"], row["since_ms"], row["minutes"], bool(row["station"]),
        )  # fmt: skip
        (plan.due if entry.due else plan.skip).append(entry)
    return list(plans.values())


def first_day(registry: Registry, first: date, last: date) -> date | None:
    """The first day between `first` and `last` (inclusive) with a stored plan, if any."""
    [row] = registry.query(
        "SELECT MIN(day) AS day FROM plans WHERE day BETWEEN ? AND ?",
        (first.isoformat(), last.isoformat()),
    )
    return date.fromisoformat(row["day"]) if row["day"] else None


def planned_rooms(registry: Registry, first: date, last: date) -> set[tuple[date, str]]:
    """(day, room) for every room due in a stored plan between two days, inclusive."""
    rows = registry.query(
        "SELECT DISTINCT day, room FROM plans WHERE due = 1 AND day BETWEEN ? AND ?",
        (first.isoformat(), last.isoformat()),
    )
    return {(date.fromisoformat(d), room) for d, room in rows}


def planned_between(registry: Registry, since_ms: int, until_ms: int) -> list[Any]:
    """(building, room, shift, start_ms, end_ms) of due rooms whose shift ends in the range.

    Only rooms with a station: a cleaning nobody can check in cannot be missed.
    """
    return registry.query(
        "SELECT building, room, shift, start_ms, end_ms FROM plans "
        "WHERE due = 1 AND station = 1 AND end_ms BETWEEN ? AND ? ORDER BY end_ms, building, room",
        (since_ms, until_ms),
    )


def assumed_cleanings(registry: Registry, since_ms: int, now_ms: int) -> dict[str, int]:
    """Rooms without a station: the start of the last ended shift they were due in.

    No visit can show that such a room was cleaned, so the plan is taken as done; without
    this its hygiene floor would make it due in every shift.
    """
    rows = registry.query(
        "SELECT room, max(start_ms) FROM plans "
        "WHERE due = 1 AND station = 0 AND end_ms BETWEEN ? AND ? GROUP BY room",
        (since_ms, now_ms),
    )
    return {room: ms for room, ms in rows}
