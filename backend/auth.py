"""Who is calling the API: the bearer token's role and buildings, as FastAPI dependencies.

Every route but /health needs ``Authorization: Bearer <token>``; tokens carry one role
(``pletfri backend token add``, backend/people/tokens.py). The capabilities' routers admit
callers with `Anyone` (facility staff, service leaders, admins), `Leader` (service leaders
and admins) or `admins`, and narrow a request to the caller's buildings with `Caller.scope`.
"""

# No `from __future__ import annotations`: FastAPI reads the dependencies' annotations at run time.
import re
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from backend.people import tokens
from backend.registry.model import ID_PATTERN


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


bearer = HTTPBearer(auto_error=False, description="a token from `pletfri backend token add`")


def caller(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    if creds is None:
        raise HTTPException(
            401,
            "no token: send Authorization: Bearer <token> (`pletfri backend token add`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # The app's one Backend (backend/api.py create_app) holds the registry of tokens.
    registry = request.app.state.backend.registry
    found = tokens.lookup(registry, creds.credentials)
    if found is None:
        raise HTTPException(401, "unknown token", headers={"WWW-Authenticate": "Bearer"})
    own = registry.led_buildings(found.person) if found.person else None
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


def who(c: Annotated[Caller, Depends(caller)]) -> str:
    """The caller's label, for the alerts' acknowledgements."""
    return c.label


def own_buildings(c: Annotated[Caller, Depends(caller)]) -> list[str] | None:
    """The buildings the caller may see (None: all), for the alerts' routes."""
    return c.buildings


def each(scope: list[str] | None) -> list[str | None]:
    """One call for all buildings, or one per building in the caller's scope."""
    return [None] if scope is None else list(scope)
