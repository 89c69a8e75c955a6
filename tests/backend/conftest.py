"""Fixtures for the backend tests: the little registry loaded, and a Backend on real servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from behelpers import registry_data

from backend.service import Backend
from pletfri.settings import Settings


@pytest.fixture
def backend(settings: Settings) -> Iterator[Backend]:
    with Backend(settings) as be:
        be.registry.replace(registry_data())
        yield be
