"""HTTP route for one person's data on request (GDPR articles 15 and 20), for admins."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at run time.
import time
from typing import Any

from fastapi import APIRouter, HTTPException

from backend.auth import admins
from backend.service import Backend, BackendError


def router(backend: Backend) -> APIRouter:
    api = APIRouter(tags=["registry"])

    @api.get("/people/{person}/export", dependencies=[admins])
    def person_export(person: str) -> dict[str, Any]:
        """Everything held about one person (GDPR articles 15 and 20): registry entries,
        card pseudonyms, taps, visits, alerts; see backend/people/privacy.py."""
        try:
            return backend.export_person(person, int(time.time() * 1000))
        except BackendError as e:
            raise HTTPException(404, str(e)) from None

    return api
