"""HTTP routes of the registry: buildings, rooms, devices and people for every role in
their scope; the whole registry's export, import and removals for admins."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at run time.
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from backend.auth import Anyone, Leader, admins, each
from backend.registry import Building, Device, Person, Registry, RegistryData, RegistryError, Room
from backend.registry.model import reference_problems


class Changed(BaseModel):
    counts: dict[str, int]


def router(registry: Registry, max_rows: int = 500_000) -> APIRouter:
    api = APIRouter(tags=["registry"])

    @api.get("/buildings")
    def buildings(c: Anyone) -> list[Building]:
        scope = c.scope(None)
        return [b for b in registry.buildings() if scope is None or b.id in scope]

    @api.get("/buildings/{building}")
    def building(building: str, c: Anyone) -> Building:
        c.scope(building)
        found = registry.building(building)
        if found is None:
            raise HTTPException(404, f"no building {building!r}")
        return found

    @api.get("/rooms")
    def rooms(c: Anyone, building: str | None = None) -> list[Room]:
        return [r for b in each(c.scope(building)) for r in registry.rooms(b)]

    @api.get("/devices")
    def devices(c: Anyone, building: str | None = None) -> list[Device]:
        return [d for b in each(c.scope(building)) for d in registry.devices(b)]

    @api.get("/people")
    def people(c: Leader, role: str | None = None, building: str | None = None) -> list[Person]:
        return [p for b in each(c.scope(building)) for p in registry.people(role, b)]

    @api.get("/registry", dependencies=[admins])
    def registry_export() -> RegistryData:
        return registry.data()

    @api.put("/registry", dependencies=[admins])
    def registry_import(
        data: RegistryData,
        replace: Annotated[bool, Query(description="replace all, rather than merge")] = False,
    ) -> Changed:
        rows = sum(len(getattr(data, section)) for section in RegistryData.model_fields)
        if rows > max_rows:
            raise HTTPException(
                413,
                f"{rows:,} records, more than backend.import_max_rows ({max_rows:,}); "
                "merge the registry in parts",
            )
        problems = reference_problems(data) if replace else []
        if problems:
            raise HTTPException(422, [f"{section}[{i}]: {p}" for section, i, p in problems[:50]])
        try:
            if replace:
                registry.replace(data)
            else:
                registry.merge(data)
        except RegistryError as e:
            raise HTTPException(422, str(e)) from None
        return Changed(counts=registry.counts())

    @api.delete("/registry/{section}/{key}", dependencies=[admins])
    def registry_remove(section: str, key: str) -> Changed:
        """Remove one record; its dependants (a building's rooms, a room's devices) go too."""
        try:
            found = registry.remove(section, key)
        except RegistryError as e:
            raise HTTPException(422, str(e)) from None
        if not found:
            raise HTTPException(404, f"no {key!r} in {section}")
        return Changed(counts=registry.counts())

    return api
