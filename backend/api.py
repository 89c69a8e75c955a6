"""The backend's HTTP API (FastAPI; OpenAPI at /openapi.json, browsable at /docs): one app
that mounts each capability's router.

Every route but /health needs ``Authorization: Bearer <token>``; tokens carry one role
(``pletfri backend token add``; the dependencies are in backend/auth.py). Facility staff
read buildings, plans, verification and savings; service leaders also see visits and
people (pseudonymous) and make plans; admins also change the registry. The routes:

- backend/registry/api.py: /buildings, /rooms, /devices, /people, /registry
- backend/people/api.py: /people/{person}/export
- backend/cleaning/api.py: /roomtypes, /plans, /visits, /verification, /savings
- backend/reports/api.py: /reports/monthly, /reports/training
- backend/alerts/api.py: /alerts, for service leaders and admins
- backend/quality/api.py: /quality/...
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at run time.
import time
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from backend import auth
from backend.alerts.api import router as alerts_router
from backend.cleaning.api import router as cleaning_router
from backend.limits import BodyLimit
from backend.people.api import router as people_router
from backend.quality.api import router as quality_router
from backend.registry.api import router as registry_router
from backend.reports.api import router as reports_router
from backend.service import Backend, BackendError
from backend.web import api as web_pages
from pletfri.influx import InfluxError
from pletfri.settings import Settings


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
    # backend/auth.py finds the tokens through it.
    app.state.backend = backend
    app.add_middleware(BodyLimit, max_bytes=settings.backend.max_body_bytes)
    app.router.add_event_handler("shutdown", backend.close)

    @app.exception_handler(InfluxError)
    def _influx_down(request: Request, e: InfluxError) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=503)

    @app.exception_handler(BackendError)
    def _bad_request(request: Request, e: BackendError) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=400)

    @app.get("/health", tags=["service"], summary="Liveness, without a token")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(registry_router(backend.registry, settings.backend.import_max_rows))
    app.include_router(people_router(backend))
    app.include_router(cleaning_router(backend, clock))
    app.include_router(reports_router(backend, clock))
    app.include_router(
        alerts_router(settings, who=auth.who, clock=clock, buildings=auth.own_buildings),
        dependencies=[auth.leaders],
    )
    app.include_router(quality_router(backend.registry, settings, auth.anyone, auth.leaders, clock))
    web_pages.install(app, backend, settings, clock)
    return app
