"""Taps paired into visits: arrival and leaving at one room by one card, written as `visit` points.

Rules, in the order they apply to each card's taps in time order:

- a tap within ``backend.double_tap_s`` of the same card's previous tap at the same room is a
  double tap and ignored;
- a tap at the room where the card has an open visit closes it (the leaving tap), unless
  the visit is older than ``backend.visit_timeout_min``: then the old one is closed without
  a leaving tap and the new tap opens a visit;
- a tap at another room closes the open visit without a leaving tap and opens a new one;
- an open visit older than the timeout at ``now`` is closed without a leaving tap; a younger
  one stays open (not written) until a later run sees its leaving tap.

A trainee's visit and another person's visit that arrive at the same room within
``backend.buddy_window_min`` are one buddy visit: the trainee's, with the other's card in
``buddy``. Each visit is written at its arrival time, so running the pairing again over the
same taps writes the same points.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from zoneinfo import ZoneInfo

from backend.cleaning.roomtypes import RoomType
from backend.cleaning.shifts import local_day
from backend.registry import Person, Room
from pletfri.influx import Influx, line, quote
from pletfri.settings import BackendSettings

log = logging.getLogger(__name__)

# Taps this long before the window are read too, so a visit that began before it pairs right.
CONTEXT_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Tap:
    ts_ms: int
    building: str
    room: str
    card: str


@dataclass(frozen=True, slots=True)
class Visit:
    building: str
    room: str
    card: str
    arrive_ms: int
    # None: no leaving tap (the card went elsewhere or the timeout passed).
    leave_ms: int | None
    buddy: str | None = None
    planned: bool = False
    short: bool = False
    # The card holder's role when the visit was paired (registry), for the training dashboards.
    role: str = ""

    @property
    def complete(self) -> bool:
        return self.leave_ms is not None

    @property
    def duration_s(self) -> int:
        return 0 if self.leave_ms is None else (self.leave_ms - self.arrive_ms) // 1000


@dataclass(frozen=True, slots=True)
class PairingRules:
    timeout_ms: int
    double_tap_ms: int
    buddy_window_ms: int

    @classmethod
    def from_settings(cls, s: BackendSettings) -> PairingRules:
        return cls(s.visit_timeout_min * 60_000, s.double_tap_s * 1000, s.buddy_window_min * 60_000)


def pair(taps: Iterable[Tap], rules: PairingRules, now_ms: int) -> tuple[list[Visit], list[Visit]]:
    """Closed visits and still-open ones (leave_ms None, younger than the timeout at now)."""
    closed: list[Visit] = []
    open_: dict[str, Visit] = {}
    last: dict[str, Tap] = {}
    for tap in sorted(taps, key=lambda t: (t.ts_ms, t.card)):
        prev = last.get(tap.card)
        last[tap.card] = tap
        if prev and prev.room == tap.room and tap.ts_ms - prev.ts_ms <= rules.double_tap_ms:
            continue
        current = open_.pop(tap.card, None)
        if current is not None:
            if current.room == tap.room and tap.ts_ms - current.arrive_ms <= rules.timeout_ms:
                closed.append(replace(current, leave_ms=tap.ts_ms))
                continue
            closed.append(current)
        open_[tap.card] = Visit(tap.building, tap.room, tap.card, tap.ts_ms, None)
    still_open = []
    for v in open_.values():
        if now_ms - v.arrive_ms > rules.timeout_ms:
            closed.append(v)
        else:
            still_open.append(v)
    closed.sort(key=lambda v: (v.arrive_ms, v.card))
    return closed, still_open


def merge_buddies(visits: list[Visit], roles: Mapping[str, str], window_ms: int) -> list[Visit]:
    """A trainee's visit absorbs another person's visit that arrived at the same room with it."""
    by_room: dict[str, list[int]] = {}
    for i, v in enumerate(visits):
        by_room.setdefault(v.room, []).append(i)
    buddy_of: dict[int, int] = {}
    absorbed: set[int] = set()
    for i, v in enumerate(visits):
        if roles.get(v.card) != "trainee":
            continue
        for j in by_room[v.room]:
            other = visits[j]
            if (
                j not in absorbed
                and roles.get(other.card) not in (None, "trainee")
                and abs(other.arrive_ms - v.arrive_ms) <= window_ms
            ):
                absorbed.add(j)
                buddy_of[i] = j
                break
    out = []
    for i, v in enumerate(visits):
        if i in absorbed:
            continue
        if i in buddy_of:
            other = visits[buddy_of[i]]
            # The trainee forgot the leaving tap but the buddy did not: the pair left then.
            leave = v.leave_ms if v.leave_ms is not None else other.leave_ms
            v = replace(v, buddy=other.card, leave_ms=leave)
        out.append(v)
    return out


def judge(
    visits: list[Visit],
    rooms: Mapping[str, Room],
    types: Mapping[str, RoomType],
    short_fraction: float,
    planned: set[tuple[date, str]],
    tz: ZoneInfo,
) -> list[Visit]:
    """Mark each visit planned (its room was due that local day) and short (under its share)."""
    out = []
    for v in visits:
        room = rooms[v.room]
        expected_s = types[room.type].minutes(room.area_m2) * 60
        short = v.complete and v.duration_s < short_fraction * expected_s
        day = local_day(v.arrive_ms, tz)
        out.append(replace(v, short=short, planned=(day, v.room) in planned))
    return out


def read_taps(influx: Influx, since_ms: int, until_ms: int) -> list[Tap]:
    rows = influx.query(
        f"SELECT card FROM tap WHERE time > {since_ms}ms AND time <= {until_ms}ms "
        "GROUP BY building, room"
    )
    return [Tap(r["time"], r.get("building", ""), r.get("room", ""), r["card"]) for r in rows]


def visit_line(v: Visit) -> str:
    fields: dict[str, object] = {
        "card": v.card,
        "duration_s": v.duration_s,
        "planned": v.planned,
        "complete": v.complete,
        "short": v.short,
    }
    if v.buddy:
        fields["buddy"] = v.buddy
    if v.role:
        fields["role"] = v.role
    return line("visit", {"building": v.building, "room": v.room}, fields, v.arrive_ms)


def read_visits(
    influx: Influx, since_ms: int, until_ms: int, building: str | None = None
) -> list[Visit]:
    """Visits that arrived in (since_ms, until_ms], for one building or all."""
    where = f" AND building = {quote(building)}" if building else ""
    rows = influx.query(
        "SELECT card, duration_s, planned, complete, short, buddy FROM visit "
        f"WHERE time > {since_ms}ms AND time <= {until_ms}ms{where} GROUP BY building, room"
    )
    return [
        Visit(
            r["building"],
            r["room"],
            r["card"],
            r["time"],
            # A visit point without `complete` (written by another tool) counts as complete.
            r["time"] + r["duration_s"] * 1000 if r.get("complete") is not False else None,
            r.get("buddy"),
            bool(r.get("planned")),
            bool(r.get("short")),
        )
        for r in rows
    ]


def pair_and_write(
    influx: Influx,
    rooms: Mapping[str, Room],
    people_by_card: Mapping[str, Person],
    types: Mapping[str, RoomType],
    settings: BackendSettings,
    planned: set[tuple[date, str]],
    since_ms: int,
    now_ms: int,
    successors: Mapping[str, str] | None = None,
) -> list[Visit]:
    """Pair the taps up to now into visits that arrived after since_ms; write and return them.

    `planned` holds (local day, room) for the rooms due that day. Taps by unknown cards or
    at unknown rooms make no visit (the gateway has already answered them "unknown_card").
    `successors` maps a card's pseudonym under an earlier site key to its newest one
    (backend/people/sitekey.py), so one card pairs as one across a key rotation.
    """
    rules = PairingRules.from_settings(settings)
    newest = successors or {}
    taps = [
        replace(t, card=newest.get(t.card, t.card)) if t.card in newest else t
        for t in read_taps(influx, since_ms - CONTEXT_MS, now_ms)
        if t.card in people_by_card and t.room in rooms
    ]
    closed, still_open = pair(taps, rules, now_ms)
    roles = {card: p.role for card, p in people_by_card.items()}
    # Open visits take part in the merge, so a buddy's closed visit whose trainee is still in
    # the room is held back rather than written alone now and as part of the pair later.
    waiting = {(v.card, v.arrive_ms) for v in still_open}
    merged = merge_buddies(closed + still_open, roles, rules.buddy_window_ms)
    fresh = [v for v in merged if v.arrive_ms > since_ms and (v.card, v.arrive_ms) not in waiting]
    tz = ZoneInfo(settings.timezone)
    visits = [
        replace(v, role=roles[v.card])
        for v in judge(fresh, rooms, types, settings.short_fraction, planned, tz)
    ]
    if visits:
        influx.write(visit_line(v) for v in visits)
    return visits
