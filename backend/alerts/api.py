"""HTTP API for alerts: list, read, acknowledge. A FastAPI router the backend's app mounts:

    from backend.alerts.api import router as alerts_router
    app.include_router(alerts_router(settings, who=current_user_name),
                       dependencies=[Depends(require_role("service_leader"))])

`who`, if given, is a dependency that returns the name of the authenticated person;
it then fills `by` of an acknowledgement, which the request body may otherwise carry.
"""

import time
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, Field

from backend.alerts.acknowledge import AlertStateError, acknowledge
from backend.alerts.points import flush
from backend.alerts.store import AlertNotFound, AlertStore
from pletfri.influx import Influx
from pletfri.settings import Settings


class AlertOut(BaseModel):
    id: int
    rule: str
    subject: str
    building: str
    room: str
    severity: str
    level: int
    state: Literal["open", "acknowledged", "resolved"]
    params: dict[str, Any]
    opened: str
    escalated: str | None
    acknowledged: str | None
    acknowledged_by: str | None
    note: str | None
    resolved: str | None


class AckIn(BaseModel):
    by: str | None = Field(None, description="who takes it; taken from the login when there is one")
    note: str = ""


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


def _nobody() -> str | None:
    return None


def _everywhere() -> list[str] | None:
    return None


# SQLite's largest integer: a larger id is no alert (and would overflow the query).
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def router(
    settings: Settings,
    who: Callable[..., str | None] = _nobody,
    clock: Callable[[], int] = _wall_clock_ms,
    buildings: Callable[..., list[str] | None] = _everywhere,
) -> APIRouter:
    """`buildings`, if given, is a dependency returning the buildings the caller may see
    (None: all); an alert of another building is then answered 403."""
    api = APIRouter(prefix="/alerts", tags=["alerts"])
    Scope = Annotated[list[str] | None, Depends(buildings)]

    def visible(scope: list[str] | None, building: str) -> None:
        if scope is not None and building not in scope:
            raise HTTPException(403, f"building {building!r} is not one of yours")

    tz = ZoneInfo(settings.backend.timezone)

    def store() -> Iterator[AlertStore]:
        s = AlertStore(settings.backend.database_file)
        try:
            yield s
        finally:
            s.close()

    Store = Annotated[AlertStore, Depends(store)]

    @api.get("", response_model=list[AlertOut], summary="Alerts, newest first")
    def list_alerts(
        db: Store,
        scope: Scope,
        state: Literal["open", "acknowledged", "resolved", "all"] = "open",
        building: str | None = None,
        rule: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        if building is not None:
            visible(scope, building)
        wanted = None if state == "all" else state
        if building is not None or scope is None:
            found = db.alerts(wanted, building, rule, limit)
        else:
            # Newest first over the caller's own buildings only.
            mine = [a for b in scope for a in db.alerts(wanted, b, rule, limit)]
            found = sorted(mine, key=lambda a: (a.opened_ms, a.id), reverse=True)[:limit]
        return [a.as_dict() for a in found]

    @api.get("/{alert_id}", response_model=AlertOut, summary="One alert")
    def get_alert(alert_id: AlertId, db: Store, scope: Scope) -> dict[str, Any]:
        try:
            alert = db.get(alert_id)
        except AlertNotFound as e:
            raise HTTPException(404, str(e)) from None
        visible(scope, alert.building)
        return alert.as_dict()

    @api.post("/{alert_id}/ack", response_model=AlertOut, summary="Acknowledge an alert")
    def ack_alert(
        alert_id: AlertId,
        body: AckIn,
        db: Store,
        scope: Scope,
        user: Annotated[str | None, Depends(who)],
    ) -> dict[str, Any]:
        try:
            visible(scope, db.get(alert_id).building)
        except AlertNotFound as e:
            raise HTTPException(404, str(e)) from None
        by = user or body.by
        if not by:
            raise HTTPException(422, "say who acknowledges the alert: give `by` in the body")
        try:
            alert = acknowledge(db, alert_id, by, clock(), body.note)
        except AlertNotFound as e:
            raise HTTPException(404, str(e)) from None
        except AlertStateError as e:
            raise HTTPException(409, str(e)) from None
        with Influx(settings.influx) as influx:
            flush(db, influx, tz)
        return alert.as_dict()

    return api
