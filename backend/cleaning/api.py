"""HTTP routes of the cleaning: room types, shift plans, visits, verification and savings.

Every role reads plans, verification and savings of the buildings in its scope; service
leaders and admins also see visits (pseudonymous cards) and make plans.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at run time.
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import AfterValidator, BaseModel

from backend.auth import Anyone, Leader, anyone, each
from backend.cleaning.planner import Plan, PlanEntry
from backend.cleaning.roomtypes import RoomType
from backend.cleaning.savings import Savings
from backend.cleaning.shifts import day_window, local_day
from backend.cleaning.verification import DayVerification
from backend.cleaning.visits import read_visits
from backend.service import Backend


class PlanOut(BaseModel):
    day: date
    shift: str
    building: str
    start_ms: int
    end_ms: int
    made_ms: int
    minutes: float
    due: list[PlanEntry]
    skip: list[PlanEntry]


class VisitOut(BaseModel):
    building: str
    room: str
    card: str
    arrive_ms: int
    leave_ms: int | None
    duration_s: int
    buddy: str | None
    planned: bool
    short: bool


def _plan_out(p: Plan) -> PlanOut:
    return PlanOut(**{k: getattr(p, k) for k in PlanOut.model_fields})


# Days the platform can hold: InfluxDB's time range ends in 1677 and 2262, and a span of
# centuries would keep a request busy for minutes.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2199, 12, 31)
MAX_SPAN_DAYS = 366


def _in_range(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"give a day between {FIRST_DAY} and {LAST_DAY}")
    return day


Day = Annotated[date, AfterValidator(_in_range)]


def router(backend: Backend, clock: Callable[[], int]) -> APIRouter:
    """The routes over `backend`; `clock` gives "now" (the demo passes simulated time)."""
    api = APIRouter()

    def today() -> date:
        return local_day(clock(), backend.tz)

    @api.get("/roomtypes", tags=["planning"], dependencies=[anyone])
    def room_types() -> dict[str, RoomType]:
        return backend.types

    @api.get("/plans", tags=["planning"])
    def plans(
        c: Anyone,
        day: Annotated[Day | None, Query(alias="date")] = None,
        building: str | None = None,
        shift: str | None = None,
    ) -> list[PlanOut]:
        return [
            _plan_out(p)
            for b in each(c.scope(building))
            for p in backend.plans(day or today(), b, shift)
        ]

    @api.post("/plans", tags=["planning"])
    def make_plans(
        c: Leader,
        shift: str,
        day: Annotated[Day | None, Query(alias="date")] = None,
        building: str | None = None,
    ) -> list[PlanOut]:
        return [
            _plan_out(p)
            for b in each(c.scope(building))
            for p in backend.make_plans(day or today(), shift, clock(), b)
        ]

    @api.get("/visits", tags=["visits"])
    def visits(
        c: Leader,
        day: Annotated[Day | None, Query(alias="date")] = None,
        building: str | None = None,
    ) -> list[VisitOut]:
        start, end = day_window(day or today(), backend.tz)
        return [
            VisitOut(**asdict(v), duration_s=v.duration_s)
            for b in each(c.scope(building))
            for v in read_visits(backend.influx, start, min(end, clock()), b)
        ]

    @api.get("/verification", tags=["visits"])
    def verification(
        c: Anyone,
        day: Annotated[Day | None, Query(alias="date")] = None,
        building: str | None = None,
    ) -> list[DayVerification]:
        found: dict[str, DayVerification] = {}
        for b in each(c.scope(building)):
            found |= backend.verify(day or today(), clock(), b)
        return [found[b] for b in sorted(found)]

    @api.get("/savings", tags=["savings"])
    def savings(
        c: Anyone, first: Day, last: Day | None = None, building: str | None = None
    ) -> Savings:
        c.one_building(building)
        if last is not None and not 0 <= (last - first).days < MAX_SPAN_DAYS:
            raise HTTPException(
                422, f"last must be from first to {MAX_SPAN_DAYS} days later; ask per year"
            )
        return backend.savings(first, last or first, clock(), building)

    return api
