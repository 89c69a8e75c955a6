"""Fixtures for the backend's tests (every capability): the little registry of behelpers.py
loaded into a Backend on real servers, and a CliRunner whose commands reach it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from behelpers import registry_data
from typer.testing import CliRunner

from backend.cleaning import need
from backend.service import Backend
from pletfri.settings import Settings
from pletfri_fw import contract


@pytest.fixture
def backend(settings: Settings) -> Iterator[Backend]:
    with Backend(settings) as be:
        be.registry.replace(registry_data())
        yield be


@pytest.fixture
def run(backend: Backend, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CliRunner whose `pletfri` commands reach this test's servers and registry."""
    for key, value in {
        "BACKEND__DATABASE_FILE": settings.backend.database_file,
        "INFLUX__URL": settings.influx.url,
        "INFLUX__DATABASE": settings.influx.database,
        "MQTT__PORT": settings.mqtt.port,
    }.items():
        monkeypatch.setenv(f"PLETFRI_{key}", str(value))
    return CliRunner()


@pytest.fixture
def need_topics(settings: Settings) -> Iterator[None]:
    """Clear the retained need topics a test published, so later tests on the broker start clean."""
    yield
    stations = [d.id for d in registry_data().devices if d.kind == "station"]
    need.publish(settings.mqtt, [(contract.topic(s, contract.NEED), b"") for s in stations])
