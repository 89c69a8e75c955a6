"""CPython stand-ins for the device's hardware: power cuts, RTC memory, light and buzzer
that record what they showed (flash in memory: memfs.py). Used by the tests and the
simulator."""

from __future__ import annotations

from typing import Any


class PowerCut(Exception):
    """The simulated power failed; nothing after this point happened."""


class CuttingFile:
    def __init__(self, fs: CuttingFS, f: Any) -> None:
        self._fs = fs
        self._f = f

    def write(self, data: bytes) -> int:
        if self._fs.step():
            # A torn write: the first half reached the flash.
            self._f.write(data[: len(data) // 2])
            self._f.flush()
            raise PowerCut
        return self._f.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


class CuttingFS:
    """Wraps a filesystem (a real folder or MemFS) and cuts the power at the n-th change
    (a write, rename or remove), so a test can try every point of an operation."""

    def __init__(self, fs: Any, cut_at: int) -> None:
        self.fs = fs
        self.cut_at = cut_at
        self.changes = 0

    def step(self) -> bool:
        self.changes += 1
        return self.changes == self.cut_at

    def open(self, name: str, mode: str) -> Any:
        return CuttingFile(self, self.fs.open(name, mode))

    def rename(self, old: str, new: str) -> None:
        if self.step():
            raise PowerCut
        self.fs.rename(old, new)

    def remove(self, name: str) -> None:
        if self.step():
            raise PowerCut
        self.fs.remove(name)

    def size(self, name: str) -> int:
        return int(self.fs.size(name))

    def listdir(self) -> list[str]:
        return list(self.fs.listdir())


class MemRtc:
    """RTC memory: survives deep sleep, not a power cut (`wipe`)."""

    def __init__(self) -> None:
        self.data = b""

    def read(self) -> bytes:
        return self.data

    def write(self, data: bytes) -> None:
        self.data = bytes(data)

    def wipe(self) -> None:
        self.data = b""


class Led:
    def __init__(self) -> None:
        self.colour = (0, 0, 0)
        self.history: list[tuple[int, int, int]] = []

    def rgb(self, r: int, g: int, b: int) -> None:
        self.colour = (r, g, b)
        self.history.append(self.colour)


class Buzzer:
    def __init__(self) -> None:
        self.sounding = False
        self.beeps = 0

    def on(self) -> None:
        if not self.sounding:
            self.beeps += 1
        self.sounding = True

    def off(self) -> None:
        self.sounding = False
