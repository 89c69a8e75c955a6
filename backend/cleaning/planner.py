"""The demand planner: a need score per room from its use since its last verified cleaning.

score = weight x usage of the room's signal since its last verified visit (both taps, not too
short). A room is due when the score reaches ``backend.need_threshold`` ("usage") or when its
hygiene floor would be passed by the end of the shift ("hygiene_floor"); every other room may
be skipped. Two InfluxDB round trips serve the whole municipality: the last verified visit of
every room (one aggregate), then the usage sums since those times, one statement per distinct
15-minute start, all in one request (docs/backend.md, "Planner").
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from backend.cleaning.roomtypes import RoomType
from backend.registry import Room
from pletfri.influx import Influx, line, quote

log = logging.getLogger(__name__)

Reason = Literal["usage", "hygiene_floor", "none"]
DAY_MS = 86_400_000
# Occupancy points are dated at the end of 15-minute periods, so usage "since t" is the same
# for every t within one period: rooms whose last cleaning falls in one period share a query.
PERIOD_MS = 900_000
SIGNALS = ("motion", "presence_s", "entries")


class PlannerError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Need:
    room: str
    building: str
    score: float
    due: bool
    reason: Reason
    # The last verified cleaning, None when none is known within the lookback.
    since_ms: int | None
    signal: str | None


@dataclass(frozen=True, slots=True)
class PlanEntry:
    room: str
    building: str
    type: str
    floor: int
    zone: str
    due: bool
    reason: Reason
    score: float
    since_ms: int | None
    minutes: float
    # False for a room without a check-in station: its cleaning cannot be verified, so it is
    # left out of "missed" and its hygiene floor cannot be reset by a visit.
    station: bool = True


@dataclass(slots=True)
class Plan:
    """One building's plan for one shift: rooms due in route order, rooms that may be skipped."""

    day: date
    shift: str
    building: str
    start_ms: int
    end_ms: int
    made_ms: int
    due: list[PlanEntry] = field(default_factory=list)
    skip: list[PlanEntry] = field(default_factory=list)

    @property
    def minutes(self) -> float:
        return round(sum(e.minutes for e in self.due), 1)


def last_verified(
    influx: Influx, since_ms: int, now_ms: int, building: str | None = None
) -> dict[str, int]:
    """Each room's last visit with both taps that was not too short, in (since, now]."""
    only = f"AND building = {quote(building)} " if building else ""
    rows = influx.query(
        f"SELECT last(duration_s) FROM visit WHERE complete = true AND short = false {only}"
        f"AND time > {since_ms}ms AND time <= {now_ms}ms GROUP BY room"
    )
    # last() reports the time of the chosen point: the visit's arrival.
    return {r["room"]: r["time"] for r in rows}


def usage_since(
    influx: Influx, starts: Mapping[str, int], now_ms: int
) -> dict[str, dict[str, float]]:
    """Sums of each signal per room from its start time (exclusive) to now (inclusive)."""
    groups: dict[int, list[str]] = defaultdict(list)
    for room, start in starts.items():
        groups[start - start % PERIOD_MS].append(room)
    statements = []
    for start, rooms in sorted(groups.items()):
        match = " OR ".join(f"room = {quote(r)}" for r in rooms)
        statements.append(
            "SELECT sum(motion) AS motion, sum(presence_s) AS presence_s, "
            f"sum(entries) AS entries FROM occupancy WHERE ({match}) "
            f"AND time > {start}ms AND time <= {now_ms}ms GROUP BY room"
        )
    out: dict[str, dict[str, float]] = {}
    # Many statements per request: InfluxDB runs them in one go, saving a round trip each.
    for i in range(0, len(statements), 200):
        for row in influx.query(";".join(statements[i : i + 200])):
            out[row["room"]] = {s: row[s] for s in SIGNALS if row.get(s) is not None}
    return out


def score(usage: Mapping[str, float], room_type: RoomType) -> tuple[float, str | None]:
    """The score from the first of the type's signals the sensor reported, and that signal."""
    for signal, weight in room_type.signals.items():
        if signal in usage:
            return usage[signal] * weight, signal
    return 0.0, None


def needs(
    influx: Influx,
    rooms: Iterable[Room],
    types: Mapping[str, RoomType],
    threshold: float,
    lookback_days: int,
    now_ms: int,
    until_ms: int | None = None,
    assumed: Mapping[str, int] | None = None,
) -> dict[str, Need]:
    """The need of each room at now_ms; the hygiene floor is judged at until_ms (default now).

    `assumed` gives cleanings taken as made without a visit (rooms without a station).
    """
    rooms = list(rooms)
    unknown = sorted({r.type for r in rooms} - set(types))
    if unknown:
        raise PlannerError(
            f"room type(s) {', '.join(unknown)} have no settings: add them to the file in "
            "backend.room_types_file (see docs/backend.md) or correct the rooms' types"
        )
    horizon = now_ms - lookback_days * DAY_MS
    buildings = {r.building for r in rooms}
    one = next(iter(buildings)) if len(buildings) == 1 else None
    cleaned = last_verified(influx, horizon, now_ms, one)
    for room, ms in (assumed or {}).items():
        if horizon < ms <= now_ms and ms > cleaned.get(room, 0):
            cleaned[room] = ms
    usage = usage_since(influx, {r.id: cleaned.get(r.id, horizon) for r in rooms}, now_ms)
    judged_at = until_ms if until_ms is not None else now_ms
    out = {}
    for r in rooms:
        t = types[r.type]
        value, signal = score(usage.get(r.id, {}), t)
        since = cleaned.get(r.id)
        reason: Reason = "none"
        if value >= threshold:
            reason = "usage"
        elif (
            judged_at - (since if since is not None else horizon)
        ) >= t.hygiene_floor_days * DAY_MS:
            reason = "hygiene_floor"
        out[r.id] = Need(r.id, r.building, round(value, 3), reason != "none", reason, since, signal)
    return out


def route_order(entries: Iterable[PlanEntry]) -> list[PlanEntry]:
    """Floor by floor, zone by zone, then by room: one pass through the building."""
    return sorted(entries, key=lambda e: (e.floor, e.zone, e.room))


def plans_from_needs(
    rooms: Iterable[Room],
    types: Mapping[str, RoomType],
    found: Mapping[str, Need],
    day: date,
    shift: str,
    window: tuple[int, int],
    made_ms: int,
    stations: set[str],
) -> dict[str, Plan]:
    """Plans per building for the rooms whose type is cleaned in `shift`.

    `stations` holds the rooms that have a check-in station.
    """
    plans: dict[str, Plan] = {}
    for r in rooms:
        t = types[r.type]
        if shift not in t.shifts:
            continue
        n = found[r.id]
        plan = plans.get(r.building)
        if plan is None:
            plan = plans[r.building] = Plan(day, shift, r.building, *window, made_ms)
        entry = PlanEntry(
            r.id, r.building, r.type, r.floor, r.zone, n.due, n.reason, n.score, n.since_ms,
            t.minutes(r.area_m2), r.id in stations,
        )  # fmt: skip
        (plan.due if n.due else plan.skip).append(entry)
    for plan in plans.values():
        plan.due = route_order(plan.due)
        plan.skip = route_order(plan.skip)
    return plans


def need_lines(found: Mapping[str, Need], now_ms: int) -> list[str]:
    return [
        line(
            "need",
            {"building": n.building, "room": n.room},
            {"score": n.score, "due": n.due},
            now_ms,
        )
        for n in found.values()
    ]
