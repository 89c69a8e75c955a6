"""HTTP API for INSTA 800 inspections (backend/quality/inspections.py), mounted under
/quality by backend/api.py. Service leaders and admins plan, record and finish; facility
staff read. A token bound to a service leader reaches only the buildings they lead.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at run time.
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Protocol
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from backend.cleaning.shifts import local_day

# Imported as `quality`: the route listing them is named `inspections` (its operation id).
from backend.quality import inspections as quality
from backend.registry import Registry
from pletfri.settings import Settings


class Scoped(Protocol):
    """The authenticated caller, as backend/auth.py's dependencies give it."""

    label: str
    buildings: list[str] | None

    def scope(self, building: str | None) -> list[str] | None: ...


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    building: str
    day: date | None = Field(None, description="the inspection's local day; default today")
    inspector: str | None = Field(
        None, description="a person id or a name; default the token's label"
    )


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: int = Field(description="the observed INSTA 800 quality level, 0-5")
    defects: quality.Defects = quality.Defects()
    note: str = ""


def _http(e: quality.QualityError) -> HTTPException:
    if isinstance(e, quality.InspectionNotFound):
        return HTTPException(404, str(e))
    if isinstance(e, quality.InspectionConflict):
        return HTTPException(409, str(e))
    return HTTPException(422, str(e))


def router(
    registry: Registry,
    settings: Settings,
    read: Any,
    write: Any,
    clock: Callable[[], int],
) -> APIRouter:
    """The /quality routes; `read` and `write` are the dependencies that admit a caller."""
    api = APIRouter(prefix="/quality", tags=["quality"])
    tz = ZoneInfo(settings.backend.timezone)
    Reader = Annotated[Scoped, read]
    Writer = Annotated[Scoped, write]

    # SQLite's largest integer: a larger id is no inspection (and would overflow the query).
    Id = Annotated[int, Path(ge=1, le=2**63 - 1)]

    def mine(c: Scoped, inspection: int) -> None:
        """404 for an unknown inspection, 403 for one of another leader's buildings."""
        try:
            c.scope(quality.get(registry, inspection).building)
        except quality.QualityError as e:
            raise _http(e) from None

    @api.post("/inspections", summary="Plan an inspection: draw and store the sample")
    def plan(body: PlanIn, c: Writer) -> quality.Inspection:
        c.scope(body.building)
        try:
            return quality.plan(
                registry,
                settings.quality,
                body.building,
                body.day or local_day(clock(), tz),
                clock(),
                c.label if body.inspector is None else body.inspector,
            )
        except quality.QualityError as e:
            raise _http(e) from None

    @api.put(
        "/inspections/{inspection}/rooms/{room}",
        summary="Record a sampled room's observed level (again to correct it)",
    )
    def record(inspection: Id, room: str, body: RecordIn, c: Writer) -> quality.Inspection:
        mine(c, inspection)
        try:
            return quality.record(
                registry, inspection, room, body.level, body.defects, body.note, clock()
            )
        except quality.QualityError as e:
            raise _http(e) from None

    @api.post("/inspections/{inspection}/finish", summary="Finish and judge an inspection")
    def finish(inspection: Id, c: Writer) -> quality.Inspection:
        mine(c, inspection)
        try:
            return quality.finish(registry, inspection, clock())
        except quality.QualityError as e:
            raise _http(e) from None

    @api.delete(
        "/inspections/{inspection}", status_code=204, summary="Cancel an unfinished inspection"
    )
    def cancel(inspection: Id, c: Writer) -> None:
        mine(c, inspection)
        try:
            quality.cancel(registry, inspection)
        except quality.QualityError as e:
            raise _http(e) from None

    @api.get("/inspections", summary="Inspections with their rooms, newest day first")
    def inspections(
        c: Reader,
        building: str | None = None,
        first: Annotated[date | None, Query(description="from this day")] = None,
        last: Annotated[date | None, Query(description="to this day, inclusive")] = None,
        status: quality.Status | None = None,
    ) -> list[quality.Inspection]:
        scope = c.scope(building)
        found = quality.inspections(registry, building, first, last, status)
        return [i for i in found if scope is None or i.building in scope]

    @api.get("/inspections/{inspection}", summary="One inspection")
    def inspection(inspection: Id, c: Reader) -> quality.Inspection:
        mine(c, inspection)
        return quality.get(registry, inspection)

    @api.get("/summary", summary="Finished inspections per building over a period")
    def summary(
        c: Reader, first: date, last: date | None = None, building: str | None = None
    ) -> list[quality.BuildingQuality]:
        scope = c.scope(building)
        try:
            rows = quality.summary(registry, first, last or first, building)
        except quality.QualityError as e:
            raise _http(e) from None
        return [r for r in rows if scope is None or r.building in scope]

    return api
