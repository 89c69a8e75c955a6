"""The backend's HTTP API (FastAPI; OpenAPI at /openapi.json, browsable at /docs).

Every route but /health needs ``Authorization: Bearer <token>``; tokens carry one role
(``pletfri backend token add``). Facility staff read buildings, plans, verification and
savings; service leaders also see visits and people (pseudonymous) and make plans; admins
also change the registry. The alerts' routes (backend/alerts/api.py) are mounted under
/alerts for service leaders and admins.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at run time,
# and they name dependencies local to create_app.
import re
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel

from backend import report, report_render, tokens, training
from backend.alerts.api import router as alerts_router
from backend.limits import BodyLimit
from backend.planner import Plan, PlanEntry
from backend.quality_api import router as quality_router
from backend.registry import Building, Device, Person, RegistryData, RegistryError, Room
from backend.registry.model import ID_PATTERN, reference_problems
from backend.roomtypes import RoomType
from backend.savings import Savings
from backend.service import Backend, BackendError
from backend.shifts import day_window, local_day
from backend.verification import DayVerification
from backend.visits import read_visits
from pletfri.influx import InfluxError
from pletfri.settings import Settings


class Caller(BaseModel):
    role: tokens.ApiRole
    label: str
    # The buildings a token bound to a service leader reaches; None: all.
    buildings: list[str] | None = None

    def one_building(self, building: str | None) -> None:
        """A caller bound to some buildings asks about one of them, not about all."""
        scope = self.scope(building)
        if scope is not None and building is None:
            raise HTTPException(403, f"give ?building= (one of {', '.join(scope)})")

    def scope(self, building: str | None) -> list[str] | None:
        """The buildings a request may see: [building], the caller's own, or None for all."""
        if building is not None:
            if not re.fullmatch(ID_PATTERN, building):
                raise HTTPException(422, f"building {building[:40]!r} is not a registry id")
            if self.buildings is not None and building not in self.buildings:
                raise HTTPException(403, f"building {building!r} is not one of yours")
            return [building]
        return self.buildings


# Days the platform can hold: InfluxDB's time range ends in 1677 and 2262, and a span of
# centuries would keep a request busy for minutes.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2199, 12, 31)
MAX_SPAN_DAYS = 366


def _in_range(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"give a day between {FIRST_DAY} and {LAST_DAY}")
    return day


Day = Annotated[date, AfterValidator(_in_range)]


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


class Changed(BaseModel):
    counts: dict[str, int]


def _plan_out(p: Plan) -> PlanOut:
    return PlanOut(**{k: getattr(p, k) for k in PlanOut.model_fields})


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


def create_app(settings: Settings, clock: Callable[[], int] = _wall_clock_ms) -> FastAPI:
    """The API over one Backend; `clock` gives "now" (the demo passes simulated time)."""
    backend = Backend(settings)
    app = FastAPI(
        title="Pletfri backend",
        version="1",
        description="Registry, cleaning plans, visits, verification and savings.",
    )
    app.state.backend = backend
    app.add_middleware(BodyLimit, max_bytes=settings.backend.max_body_bytes)
    app.router.add_event_handler("shutdown", backend.close)
    bearer = HTTPBearer(auto_error=False, description="a token from `pletfri backend token add`")

    def caller(
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        if creds is None:
            raise HTTPException(
                401,
                "no token: send Authorization: Bearer <token> (`pletfri backend token add`)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        found = tokens.lookup(backend.registry, creds.credentials)
        if found is None:
            raise HTTPException(401, "unknown token", headers={"WWW-Authenticate": "Bearer"})
        own = backend.registry.led_buildings(found.person) if found.person else None
        return Caller(role=found.role, label=found.label, buildings=own)

    def allow(*roles: tokens.ApiRole) -> Any:
        def check(c: Annotated[Caller, Depends(caller)]) -> Caller:
            if c.role not in roles:
                raise HTTPException(403, f"this needs the role {' or '.join(roles)}, not {c.role}")
            return c

        return Depends(check)

    anyone = allow("facility", "service_leader", "admin")
    leaders = allow("service_leader", "admin")
    admins = allow("admin")
    Anyone = Annotated[Caller, anyone]
    Leader = Annotated[Caller, leaders]
    FormatQuery = Literal["html", "pdf"]
    LanguageQuery = Literal["da", "en"] | None
    # A report route answers HTML or, with ?format=pdf, a PDF.
    REPORT_ROUTE: dict[str, Any] = {
        "tags": ["reports"],
        "response_class": Response,
        "responses": {200: {"content": {"text/html": {}, "application/pdf": {}}}},
    }
    MonthQuery = Annotated[str | None, Query(description="YYYY-MM; default: the last whole month")]

    def each(scope: list[str] | None) -> list[str | None]:
        # One call for all buildings, or one per building in the caller's scope.
        return [None] if scope is None else list(scope)

    def document(format: str, html: Callable[[], str], pdf: Callable[[], bytes]) -> Response:
        if format == "pdf":
            return Response(pdf(), media_type="application/pdf")
        return HTMLResponse(html())

    @app.exception_handler(InfluxError)
    def _influx_down(request: Request, e: InfluxError) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=503)

    @app.exception_handler(BackendError)
    def _bad_request(request: Request, e: BackendError) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=400)

    def today() -> date:
        return local_day(clock(), backend.tz)

    @app.get("/health", tags=["service"], summary="Liveness, without a token")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/buildings", tags=["registry"])
    def buildings(c: Anyone) -> list[Building]:
        scope = c.scope(None)
        return [b for b in backend.registry.buildings() if scope is None or b.id in scope]

    @app.get("/buildings/{building}", tags=["registry"])
    def building(building: str, c: Anyone) -> Building:
        c.scope(building)
        found = backend.registry.building(building)
        if found is None:
            raise HTTPException(404, f"no building {building!r}")
        return found

    @app.get("/rooms", tags=["registry"])
    def rooms(c: Anyone, building: str | None = None) -> list[Room]:
        return [r for b in each(c.scope(building)) for r in backend.registry.rooms(b)]

    @app.get("/devices", tags=["registry"])
    def devices(c: Anyone, building: str | None = None) -> list[Device]:
        return [d for b in each(c.scope(building)) for d in backend.registry.devices(b)]

    @app.get("/people", tags=["registry"])
    def people(c: Leader, role: str | None = None, building: str | None = None) -> list[Person]:
        return [p for b in each(c.scope(building)) for p in backend.registry.people(role, b)]

    @app.get("/registry", tags=["registry"], dependencies=[admins])
    def registry_export() -> RegistryData:
        return backend.registry.data()

    @app.put("/registry", tags=["registry"], dependencies=[admins])
    def registry_import(
        data: RegistryData,
        replace: Annotated[bool, Query(description="replace all, rather than merge")] = False,
    ) -> Changed:
        rows = sum(len(getattr(data, section)) for section in RegistryData.model_fields)
        if rows > settings.backend.import_max_rows:
            raise HTTPException(
                413,
                f"{rows:,} records, more than backend.import_max_rows "
                f"({settings.backend.import_max_rows:,}); merge the registry in parts",
            )
        problems = reference_problems(data) if replace else []
        if problems:
            raise HTTPException(422, [f"{section}[{i}]: {p}" for section, i, p in problems[:50]])
        try:
            if replace:
                backend.registry.replace(data)
            else:
                backend.registry.merge(data)
        except RegistryError as e:
            raise HTTPException(422, str(e)) from None
        return Changed(counts=backend.registry.counts())

    @app.get("/people/{person}/export", tags=["registry"], dependencies=[admins])
    def person_export(person: str) -> dict[str, Any]:
        """Everything held about one person (GDPR articles 15 and 20): registry entries,
        card pseudonyms, taps, visits, alerts; see backend/privacy.py."""
        try:
            return backend.export_person(person, int(time.time() * 1000))
        except BackendError as e:
            raise HTTPException(404, str(e)) from None

    @app.delete("/registry/{section}/{key}", tags=["registry"], dependencies=[admins])
    def registry_remove(section: str, key: str) -> Changed:
        """Remove one record; its dependants (a building's rooms, a room's devices) go too."""
        try:
            found = backend.registry.remove(section, key)
        except RegistryError as e:
            raise HTTPException(422, str(e)) from None
        if not found:
            raise HTTPException(404, f"no {key!r} in {section}")
        return Changed(counts=backend.registry.counts())

    @app.get("/roomtypes", tags=["planning"], dependencies=[anyone])
    def room_types() -> dict[str, RoomType]:
        return backend.types

    @app.get("/plans", tags=["planning"])
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

    @app.post("/plans", tags=["planning"])
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

    @app.get("/visits", tags=["visits"])
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

    @app.get("/verification", tags=["visits"])
    def verification(
        c: Anyone,
        day: Annotated[Day | None, Query(alias="date")] = None,
        building: str | None = None,
    ) -> list[DayVerification]:
        found: dict[str, DayVerification] = {}
        for b in each(c.scope(building)):
            found |= backend.verify(day or today(), clock(), b)
        return [found[b] for b in sorted(found)]

    @app.get("/savings", tags=["savings"])
    def savings(
        c: Anyone, first: Day, last: Day | None = None, building: str | None = None
    ) -> Savings:
        c.one_building(building)
        if last is not None and not 0 <= (last - first).days < MAX_SPAN_DAYS:
            raise HTTPException(
                422, f"last must be from first to {MAX_SPAN_DAYS} days later; ask per year"
            )
        return backend.savings(first, last or first, clock(), building)

    @app.get("/reports/monthly", **REPORT_ROUTE)
    def monthly_report(
        c: Anyone,
        month: MonthQuery = None,
        building: str | None = None,
        format: FormatQuery = "html",
        language: LanguageQuery = None,
    ) -> Response:
        """The monthly contract report (`pletfri report monthly`), as HTML or PDF."""
        c.one_building(building)
        try:
            r = report.monthly(backend, month, clock(), settings.report, building)
        except BackendError as e:
            raise HTTPException(422, str(e)) from None
        lang = language or settings.report.language
        return document(
            format,
            lambda: report_render.html(r, lang, backend.tz),
            lambda: report_render.pdf(r, lang, backend.tz),
        )

    @app.get("/reports/training", **REPORT_ROUTE)
    def training_report(
        c: Leader,
        month: MonthQuery = None,
        building: str | None = None,
        format: FormatQuery = "html",
        language: LanguageQuery = None,
    ) -> Response:
        """The training tracks' progress for the job centre, anonymised, as HTML or PDF."""
        c.one_building(building)
        now = clock()
        try:
            _, first, last = report.month_span(month, now, backend)
            found = training.progress(backend, first, last, settings.report, building)
        except BackendError as e:
            raise HTTPException(422, str(e)) from None
        args = (found, first, last, now, settings.report, language or settings.report.language,
                backend.tz)  # fmt: skip
        return document(
            format,
            lambda: report_render.training_html(*args),
            lambda: report_render.training_pdf(*args),
        )

    def who(c: Annotated[Caller, Depends(caller)]) -> str:
        return c.label

    def own_buildings(c: Annotated[Caller, Depends(caller)]) -> list[str] | None:
        return c.buildings

    app.include_router(
        alerts_router(settings, who=who, clock=clock, buildings=own_buildings),
        dependencies=[leaders],
    )
    app.include_router(quality_router(backend.registry, settings, anyone, leaders, clock))
    return app
