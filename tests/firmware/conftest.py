"""Fixtures of the firmware tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pletfri.services import Mosquitto


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    m = Mosquitto("mosquitto", tmp_path / "mosquitto").start()
    try:
        yield m
    finally:
        m.stop()
