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

from fastapi import APIRouter, Depends, HTTPException, Query
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


def router(
    settings: Settings,
    who: Callable[..., str | None] = _nobody,
    clock: Callable[[], int] = _wall_clock_ms,
) -> APIRouter:
    api = APIRouter(prefix="/alerts", tags=["alerts"])
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
        state: Literal["open", "acknowledged", "resolved", "all"] = "open",
        building: str | None = None,
        rule: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        found = db.alerts(None if state == "all" else state, building, rule, limit)
        return [a.as_dict() for a in found]

    @api.get("/{alert_id}", response_model=AlertOut, summary="One alert")
    def get_alert(alert_id: int, db: Store) -> dict[str, Any]:
        try:
            return db.get(alert_id).as_dict()
        except AlertNotFound as e:
            raise HTTPException(404, str(e)) from None

    @api.post("/{alert_id}/ack", response_model=AlertOut, summary="Acknowledge an alert")
    def ack_alert(
        alert_id: int, body: AckIn, db: Store, user: Annotated[str | None, Depends(who)]
    ) -> dict[str, Any]:
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
