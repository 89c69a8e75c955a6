"""MicroPython's `esp32` for a board run under CPython: wake sources are recorded."""

from __future__ import annotations

from typing import Any

WAKEUP_ALL_LOW, WAKEUP_ANY_HIGH = 0, 1


def wake_on_ext0(pin: Any, level: int) -> None:
    pass


def wake_on_ext1(pins: Any, level: int) -> None:
    pass
