"""A Backend on the session's real servers with the little registry, logins and a plan."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from behelpers import DAY, at
from fastapi.testclient import TestClient
from webhelpers import PASSWORD, registry_data

from backend.api import create_app
from backend.service import Backend
from backend.web import accounts
from pletfri.settings import Settings

NOW = at("16:00")


@pytest.fixture
def backend(settings: Settings) -> Iterator[Backend]:
    with Backend(settings) as be:
        be.registry.replace(registry_data())
        accounts.ensure_schema(be.registry)
        for name, person, shift in (
            ("cleaner", "p1", None),
            ("trainee", "p3", "afternoon"),
            ("leader", "p9", None),
            ("other", "p8", None),
        ):
            accounts.add(be.registry, name, person, PASSWORD, NOW, shift)
        be.make_plans(DAY, "afternoon", NOW)
        yield be


@pytest.fixture
def client(backend: Backend, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=lambda: NOW)) as c:
        yield c


@pytest.fixture
def run_cli(backend: Backend, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> object:
    """`pletfri ...` on this test's database: run_cli(["web", ...], input=...)."""
    from typer.testing import CliRunner

    from pletfri.cli import app

    monkeypatch.setenv("PLETFRI_BACKEND__DATABASE_FILE", str(settings.backend.database_file))
    runner = CliRunner()
    return lambda args, input=None: runner.invoke(app, args, input=input)
