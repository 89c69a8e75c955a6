"""What each page shows, gathered from the backend's own functions (no HTML here).

The pages (backend/web/api.py) and the page benchmark (bench/web_pages.py) call these.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from backend.alerts import texts
from backend.alerts.model import Alert
from backend.alerts.store import AlertStore
from backend.cleaning.planner import PlanEntry
from backend.cleaning.shifts import day_window, local_day
from backend.service import Backend
from backend.web.accounts import User
from pletfri.influx import quote

# Rooms whose first tap arrives this long before their shift starts still count for it: a
# cleaner may start a little early.
EARLY_MS = 30 * 60_000


@dataclass(slots=True)
class RoomLine:
    room: str
    name: str
    type: str
    floor: int
    minutes: float
    due: bool
    reason: str
    station: bool
    done: bool = False


@dataclass(slots=True)
class CleanerDay:
    building: str
    building_name: str
    day: date
    shift: str
    # The shifts the login may switch between (only its own, if it has one).
    shifts: list[str]
    start_ms: int
    end_ms: int
    planned: bool
    due: list[RoomLine] = field(default_factory=list)
    skip: list[RoomLine] = field(default_factory=list)

    @property
    def remaining(self) -> list[RoomLine]:
        return [r for r in self.due if not r.done]

    @property
    def remaining_minutes(self) -> float:
        return round(sum(r.minutes for r in self.remaining), 1)

    @property
    def done_count(self) -> int:
        return sum(r.done for r in self.due)


def current_shift(backend: Backend, now_ms: int) -> str:
    """The shift under way, else the next one today, else today's last."""
    today = local_day(now_ms, backend.tz)
    names = list(backend.shifts)
    for name in names:
        if now_ms < backend.shifts[name].window(today, backend.tz)[1]:
            return name
    return names[-1]


def tapped_rooms(backend: Backend, building: str, since_ms: int, until_ms: int) -> set[str]:
    """Rooms of `building` with a tap (a station's or a sticker's) in (since, until]."""
    rows = backend.influx.query(
        f"SELECT count(card) FROM tap WHERE building = {quote(building)} "
        f"AND time > {since_ms}ms AND time <= {until_ms}ms GROUP BY room"
    )
    return {r["room"] for r in rows if r.get("count")}


def cleaner_day(backend: Backend, user: User, shift: str | None, now_ms: int) -> CleanerDay:
    """Today's plan of the login's building and shift, each due room ticked once tapped."""
    building = user.buildings[0]
    shifts = [user.shift] if user.shift else list(backend.shifts)
    name = user.shift or (shift if shift in backend.shifts else current_shift(backend, now_ms))
    day = local_day(now_ms, backend.tz)
    start, end = backend.shift(name).window(day, backend.tz)
    b = backend.registry.building(building)
    out = CleanerDay(building, b.name if b else building, day, name, shifts, start, end, False)
    found = backend.plans(day, building, name)
    if not found:
        return out
    out.planned = True
    names = {r.id: r.name for r in backend.registry.rooms(building)}
    done = tapped_rooms(backend, building, start - EARLY_MS, now_ms) if now_ms > start else set()

    def line(e: PlanEntry) -> RoomLine:
        return RoomLine(e.room, names.get(e.room, ""), e.type, e.floor, round(e.minutes, 1),
                        e.due, e.reason, e.station, e.room in done)  # fmt: skip

    out.due = [line(e) for e in found[0].due]
    out.skip = [line(e) for e in found[0].skip]
    return out


# --- alerts ----------------------------------------------------------------------------------


@dataclass(slots=True)
class AlertLine:
    id: int
    room: str
    title: str
    text: str
    state: str
    severity: str


@dataclass(slots=True)
class AlertGroup:
    building: str
    building_name: str
    rule: str
    day: date
    title: str
    severity: str
    alerts: list[AlertLine]

    @property
    def key(self) -> str:
        return f"{self.building}-{self.rule}-{self.day}"

    @property
    def open_ids(self) -> list[int]:
        return [a.id for a in self.alerts if a.state == "open"]


SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def open_alerts(store: AlertStore, buildings: tuple[str, ...] | list[str]) -> list[Alert]:
    """Unresolved alerts (acknowledged ones too) of the buildings, oldest first."""
    found = [a for b in buildings for a in store.alerts("open", b, limit=100_000)]
    return sorted(found, key=lambda a: a.id)


def group_alerts(
    alerts: list[Alert], names: dict[str, str], language: str, tz: ZoneInfo
) -> list[AlertGroup]:
    """One group per building, rule and day opened: a day's missed cleanings of a building
    read as one line with its rooms under it. Newest day first, then the most severe."""
    groups: dict[tuple[str, str, date], list[Alert]] = defaultdict(list)
    for a in alerts:
        groups[(a.building, a.rule, local_day(a.opened_ms, tz))].append(a)
    out = []
    for (building, rule, day), members in groups.items():
        lines = []
        for a in members:
            m = texts.render(a, "opened", language, tz)
            lines.append(AlertLine(a.id, a.room, m["title"], m["text"], a.state, a.severity))
        severity = min((a.severity for a in members), key=lambda s: SEVERITY_ORDER.get(s, 9))
        title = lines[0].title.split(":")[0] if len(lines) > 1 else lines[0].title
        out.append(
            AlertGroup(building, names.get(building, building), rule, day, title, severity, lines)
        )
    return sorted(
        out, key=lambda g: (-g.day.toordinal(), SEVERITY_ORDER.get(g.severity, 9), g.building)
    )


def lines_per_day(alerts: list[Alert], tz: ZoneInfo) -> dict[date, tuple[int, int]]:
    """Per day opened: (alerts, groups), the lines a leader reads before and after grouping."""
    each: dict[date, int] = defaultdict(int)
    groups: dict[date, set[tuple[str, str]]] = defaultdict(set)
    for a in alerts:
        day = local_day(a.opened_ms, tz)
        each[day] += 1
        groups[day].add((a.building, a.rule))
    return {d: (each[d], len(groups[d])) for d in sorted(each)}


# --- a room's history ------------------------------------------------------------------------


@dataclass(slots=True)
class RoomDay:
    day: date
    planned: list[str]
    visits: list[tuple[int, int, bool, bool]]  # (arrive_ms, duration_s, complete, short)


def room_history(backend: Backend, room: str, today: date, days: int) -> list[RoomDay]:
    """The room's plans and visits per day over the last `days` days, newest first; the
    visits without their cards (the page is about the room, not who cleaned it)."""
    first = today - timedelta(days=days - 1)
    start, end = day_window(first, backend.tz)[0], day_window(today, backend.tz)[1]
    out = {
        first + timedelta(days=i): RoomDay(first + timedelta(days=i), [], []) for i in range(days)
    }
    for r in backend.registry.query(
        "SELECT day, shift FROM plans WHERE room = ? AND due = 1 AND day BETWEEN ? AND ?",
        (room, first.isoformat(), today.isoformat()),
    ):
        out[date.fromisoformat(r["day"])].planned.append(r["shift"])
    rows = backend.influx.query(
        "SELECT duration_s, complete, short FROM visit "
        f"WHERE room = {quote(room)} AND time >= {start}ms AND time < {end}ms"
    )
    for r in rows:
        d = out.get(local_day(r["time"], backend.tz))
        if d is not None:
            d.visits.append((r["time"], int(r.get("duration_s") or 0),
                             r.get("complete") is not False, bool(r.get("short"))))  # fmt: skip
    return sorted(out.values(), key=lambda d: d.day, reverse=True)
