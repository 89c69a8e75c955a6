"""Verification per building and day: the plan against the visits.

- planned: rooms due in the day's stored plans (a room due in two shifts counts twice), but
  for rooms without a station, which are counted as unverifiable;
- done: visits that day; missed: planned cleanings not done (`cleanings_done`: the k-th
  cleaning due in a room that day is done once the room has k visits that local day, in
  any shift), once their shift has ended (before then they are pending);
- unplanned: visits at rooms not due in any plan that day;
- too_short: visits shorter than ``backend.short_fraction`` of the room's estimated minutes;
- no_leave_tap: visits closed without a leaving tap;
- unneeded: visits to a room whose sensor counted nothing since the room's previous visit.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from backend.cleaning.planner import DAY_MS, SIGNALS, Plan
from backend.cleaning.shifts import day_window
from backend.cleaning.visits import Visit, read_visits
from pletfri.influx import Influx, InfluxError, quote


@dataclass(slots=True)
class DayVerification:
    building: str
    day: date
    planned: int = 0
    done: int = 0
    missed: int = 0
    pending: int = 0
    unplanned: int = 0
    too_short: int = 0
    no_leave_tap: int = 0
    unneeded: int = 0
    buddy_visits: int = 0
    # Due rooms without a station: planned, but their cleaning cannot be verified.
    unverifiable: int = 0
    missed_rooms: list[str] = field(default_factory=list)
    unplanned_rooms: list[str] = field(default_factory=list)
    short_rooms: list[str] = field(default_factory=list)
    unneeded_rooms: list[str] = field(default_factory=list)
    unverifiable_rooms: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RoomVisits:
    """One room's visits of one day, counted: all that the books need of them, and what the
    hourly rollups keep once the person-level visits are gone (pletfri/storage.py)."""

    building: str
    visits: int = 0
    short: int = 0
    incomplete: int = 0
    buddy: int = 0


def cleanings_done(due_rooms: Iterable[str], visits: Mapping[str, int]) -> list[bool]:
    """Whether each of a day's planned cleanings counts as done, given each room's number of
    visits that local day (so far).

    `due_rooms` are the rooms of the day's due cleanings in shift order; a room due twice
    needs two visits. Which shift a visit fell in does not matter: a cleaner who comes late
    (after the shift, or in the next one) still cleaned the room. The alert rule
    `missed_cleaning` judges by this too, so its alerts are the missed cleanings counted here.
    """
    seen: Counter[str] = Counter()
    out = []
    for room in due_rooms:
        seen[room] += 1
        out.append(seen[room] <= visits.get(room, 0))
    return out


def unneeded_visits(
    influx: Influx, visits: list[Visit], earlier: Mapping[str, list[int]]
) -> list[Visit]:
    """Visits with no usage counted at the room between its previous visit and this one."""
    asks: list[tuple[Visit, str]] = []
    for v in visits:
        before = [t for t in earlier.get(v.room, []) if t < v.arrive_ms]
        if not before:
            continue  # no previous visit known: nothing to compare against
        asks.append(
            (
                v,
                "SELECT sum(motion) AS motion, sum(presence_s) AS presence_s, sum(entries) AS "
                f"entries FROM occupancy WHERE room = {quote(v.room)} "
                f"AND time > {max(before)}ms AND time <= {v.arrive_ms}ms",
            )
        )
    out = []
    for i in range(0, len(asks), 200):
        chunk = asks[i : i + 200]
        for (v, _), rows in zip(chunk, per_statement(influx, [q for _, q in chunk]), strict=True):
            if sum(row.get(k) or 0 for row in rows for k in SIGNALS) == 0:
                out.append(v)
    return out


def per_statement(influx: Influx, statements: list[str]) -> list[list[dict[str, Any]]]:
    """Run statements in one request and keep each one's rows apart (Influx.query merges them)."""
    try:
        r = influx.http.post(
            "/query", data={"db": influx.settings.database, "q": ";".join(statements)}
        )
    except httpx.HTTPError as e:
        raise InfluxError(f"InfluxDB at {influx.settings.url} unreachable: {e}") from e
    if r.status_code != 200:
        raise InfluxError(f"InfluxDB query failed ({r.status_code}): {r.text.strip()}")
    out = []
    for result in r.json()["results"]:
        if "error" in result:
            raise InfluxError(f"InfluxQL error: {result['error']}")
        out.append(
            [
                dict(zip(s["columns"], values, strict=True))
                for s in result.get("series", [])
                for values in s["values"]
            ]
        )
    return out


def verify(
    influx: Influx,
    plans: list[Plan],
    buildings: list[str],
    day: date,
    tz: ZoneInfo,
    lookback_days: int,
    now_ms: int,
    unneeded: bool = True,
    counts: Mapping[str, RoomVisits] | None = None,
) -> dict[str, DayVerification]:
    """Verification of `day` for each building, as far as it can be judged at now_ms.

    `counts`: the day's visits counted per room (from the rollups) instead of read one by
    one; then `unneeded` is not judged (it needs each visit's time).
    """
    start, end = day_window(day, tz)
    until = min(end, now_ms)
    wanted = set(buildings)
    out = {b: DayVerification(b, day) for b in buildings}
    today: list[Visit] = []
    earlier: dict[str, list[int]] = defaultdict(list)
    if counts is None:
        only = buildings[0] if len(buildings) == 1 else None
        since = start - (lookback_days * DAY_MS if unneeded else 0)
        history = [v for v in read_visits(influx, since, until, only) if v.building in wanted]
        for v in history:
            earlier[v.room].append(v.arrive_ms)
        today = [v for v in history if v.arrive_ms > start]
        counts = {}
        for v in today:
            c = counts.setdefault(v.room, RoomVisits(v.building))
            c.visits += 1
    else:
        unneeded = False
        counts = {room: c for room, c in counts.items() if c.building in wanted}
    due: list[tuple[Plan, str]] = []
    for plan in sorted(plans, key=lambda p: p.start_ms):
        if plan.building not in wanted or plan.day != day:
            continue
        book = out[plan.building]
        for e in plan.due:
            if not e.station:
                book.unverifiable += 1
                book.unverifiable_rooms.append(e.room)
                continue
            book.planned += 1
            due.append((plan, e.room))
    visited = Counter({room: c.visits for room, c in counts.items()})
    for (plan, room), done in zip(due, cleanings_done([r for _, r in due], visited), strict=True):
        if done:
            continue
        book = out[plan.building]
        if plan.end_ms <= now_ms:
            book.missed += 1
            book.missed_rooms.append(room)
        else:
            book.pending += 1
    due_rooms = {r for _, r in due}
    # One visit at a time when they were read (the rooms listed in visit order), a room's
    # count at a time when they came counted.
    each = [
        (v.room, RoomVisits(v.building, 1, int(v.short), int(not v.complete), int(bool(v.buddy))))
        for v in today
    ]
    for room, c in each or sorted(counts.items()):
        book = out[c.building]
        book.done += c.visits
        if room not in due_rooms:
            book.unplanned += c.visits
            book.unplanned_rooms += [room] * c.visits
        book.too_short += c.short
        book.short_rooms += [room] * c.short
        book.no_leave_tap += c.incomplete
        book.buddy_visits += c.buddy
    for v in unneeded_visits(influx, today, earlier) if unneeded else []:
        out[v.building].unneeded += 1
        out[v.building].unneeded_rooms.append(v.room)
    return out
