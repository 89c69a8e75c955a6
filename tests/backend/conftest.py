"""Fixtures for the backend tests: the little registry loaded, and a Backend on real servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from behelpers import registry_data

from backend import need
from backend.service import Backend
from pletfri.settings import Settings
from pletfri_fw import contract


@pytest.fixture
def backend(settings: Settings) -> Iterator[Backend]:
    with Backend(settings) as be:
        be.registry.replace(registry_data())
        yield be


@pytest.fixture
def need_topics(settings: Settings) -> Iterator[None]:
    """Clear the retained need topics a test published, so later tests on the broker start clean."""
    yield
    stations = [d.id for d in registry_data().devices if d.kind == "station"]
    need.publish(settings.mqtt, [(contract.topic(s, contract.NEED), b"") for s in stations])
