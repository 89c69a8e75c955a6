"""Fixtures that start real Mosquitto and InfluxDB servers on free loopback ports."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from pletfri import storage
from pletfri.influx import Influx
from pletfri.services import Stack, running_stack
from pletfri.settings import Settings, load_settings

# The backend's fixtures (a Backend over a little registry, a CliRunner reaching it), for the
# tests of every capability: tests/backend, cleaning, people, quality, registry, reports.
pytest_plugins = ["backend_fixtures"]

_db_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def keep_logging() -> Iterator[None]:
    """Undo what a CLI command's `logs.setup` did to the root logger (level, handlers)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One Mosquitto and one InfluxDB for the whole session; tests use their own databases."""
    with running_stack(tmp_path_factory.mktemp("stack")) as s:
        yield s


@pytest.fixture
def settings(stack: Stack, tmp_path: Path) -> Settings:
    """Settings pointing at the session's servers, with a fresh database and state folder."""
    db = f"test{next(_db_numbers)}"
    Influx(load_settings(**stack.settings_overrides()).influx).query(f'CREATE DATABASE "{db}"')
    overrides = stack.settings_overrides()
    overrides["influx"]["database"] = db
    s = load_settings(
        **overrides,
        gateway={
            "registry_file": tmp_path / "devices.csv",
            "state_dir": tmp_path / "gateway",
            "client_id": f"gw-{db}",
        },
        backend={"database_file": tmp_path / "registry.sqlite"},
        run={"dir": tmp_path / "run"},
        # Raw points kept for ever: the tests' data carries fixed dates, which a raw retention
        # policy would drop as they age.
        storage={"raw_days": 0},
    )
    # Retention policies and rollups, as production's install makes them.
    with Influx(s.influx) as influx:
        storage.setup(influx, s.storage, s.backend.timezone)
    return s


@pytest.fixture
def influx(settings: Settings) -> Iterator[Influx]:
    with Influx(settings.influx) as client:
        yield client
