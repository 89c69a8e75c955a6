"""Fixtures for the gateway tests (helpers in gwhelpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gwhelpers import Fleet, tune, write_registry

from gateway.service import Gateway
from pletfri.services import Stack, running_stack
from pletfri.settings import Settings


@pytest.fixture
def gw_settings(settings: Settings) -> Settings:
    write_registry(settings)
    return tune(settings)


@pytest.fixture
def fleet(gw_settings: Settings) -> Iterator[Fleet]:
    f = Fleet(gw_settings)
    yield f
    f.close()


@pytest.fixture
def gateway(gw_settings: Settings) -> Iterator[Gateway]:
    gw = Gateway(gw_settings).start()
    assert gw.connected.wait(10), "gateway did not connect"
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Servers of its own, for tests that stop or restart them."""
    with running_stack(tmp_path_factory.mktemp("own-stack")) as s:
        yield s
