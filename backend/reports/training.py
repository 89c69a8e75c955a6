"""The trainees' progress on the training tracks, and the job centre's anonymised view of it.

A trainee learns the job from a buddy: first their visits are buddy visits (the buddy taps
in with them, backend/visits.py), then they clean rooms alone. A trainee is ready for an
own area when they have made at least `report.ready_min_alone` visits alone and, of their
latest alone visits (as many as that minimum), at least `report.ready_verified_pct` percent
were verified (both taps, long enough for the room). The job centre's report names no one:
trainees are numbered within the report, and no card, id or buddy appears.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from backend.cleaning.shifts import day_window, local_day
from backend.service import Backend, BackendError
from pletfri.influx import quote
from pletfri.settings import ReportSettings


@dataclass(slots=True)
class Progress:
    person: str
    building: str
    building_name: str
    first_visit: date | None = None
    last_visit: date | None = None
    visits: int = 0
    with_buddy: int = 0
    alone: int = 0
    hours: float = 0.0
    m2_with_buddy: float = 0.0
    m2_alone: float = 0.0
    verified_alone_pct: float | None = None
    ready: bool = False


def progress(
    backend: Backend,
    first: date,
    last: date,
    factors: ReportSettings,
    building: str | None = None,
) -> list[Progress]:
    """Every trainee's progress over first..last (local days), oldest start first; with
    `building`, its trainees and their visits in it (their training track)."""
    if last < first:
        raise BackendError(f"the period ends ({last}) before it begins ({first})")
    names = {b.id: b.name for b in backend.registry.buildings()}
    if building is not None and building not in names:
        raise BackendError(
            f"no building {building!r} in the registry; `pletfri registry show` counts them"
        )
    trainees = backend.registry.people("trainee", building)
    owner = {c.card: c.person for c in backend.registry.cards() if c.person}
    area = {r.id: r.area_m2 for r in backend.registry.rooms()}
    start, end = day_window(first, backend.tz)[0], day_window(last, backend.tz)[1]
    # The building's tag keeps InfluxDB to its rooms' series: `role` is a field, and
    # without it every room's visits are read.
    where = f" AND building = {quote(building)}" if building is not None else ""
    rows: list[dict[str, Any]] = backend.influx.query(
        "SELECT card, duration_s, buddy, complete, short FROM visit "
        f"WHERE time >= {start}ms AND time < {end}ms AND role = 'trainee'{where} GROUP BY room"
    )
    out = {
        p.id: Progress(p.id, p.building or "", names.get(p.building or "", "")) for p in trainees
    }
    alone_verified: dict[str, list[bool]] = {p: [] for p in out}
    for r in sorted(rows, key=lambda r: r["time"]):
        p = out.get(owner.get(r["card"], ""))
        if p is None:
            continue
        day = local_day(r["time"], backend.tz)
        p.first_visit = p.first_visit or day
        p.last_visit = day
        p.visits += 1
        p.hours += (r.get("duration_s") or 0) / 3600
        m2 = area.get(r.get("room", ""), 0.0)
        if r.get("buddy"):
            p.with_buddy += 1
            p.m2_with_buddy += m2
        else:
            p.alone += 1
            p.m2_alone += m2
            alone_verified[p.person].append(bool(r.get("complete")) and not r.get("short"))
    for p in out.values():
        p.hours = round(p.hours, 1)
        p.m2_with_buddy, p.m2_alone = round(p.m2_with_buddy), round(p.m2_alone)
        latest = alone_verified[p.person][-factors.ready_min_alone :]
        if latest:
            p.verified_alone_pct = round(100 * sum(latest) / len(latest), 1)
        p.ready = (
            p.alone >= factors.ready_min_alone
            and p.verified_alone_pct is not None
            and p.verified_alone_pct >= factors.ready_verified_pct
        )
    return sorted(out.values(), key=lambda p: (p.first_visit or last, p.building, p.person))


def anonymised(found: list[Progress]) -> list[dict[str, Any]]:
    """The job centre's rows: numbered trainees, their track, their figures; no one named."""
    return [
        {
            "trainee": f"{i}",
            "track": p.building_name or p.building,
            "from": p.first_visit,
            "to": p.last_visit,
            "visits": p.visits,
            "with_buddy": p.with_buddy,
            "alone": p.alone,
            "hours": p.hours,
            "m2_with_buddy": p.m2_with_buddy,
            "m2_alone": p.m2_alone,
            "verified_alone_pct": p.verified_alone_pct,
            "ready": p.ready,
        }
        for i, p in enumerate(found, start=1)
    ]
