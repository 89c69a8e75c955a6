"""CPython stand-ins for the device's hardware: flash in memory, power cuts, RTC memory,
light and buzzer that record what they showed. Used by the tests and the simulator."""

from __future__ import annotations

from typing import Any


class MemFile:
    """A file in MemFS: its bytes are in the filesystem at every write, as on flash."""

    __slots__ = ("_data", "_pos")

    def __init__(self, fs: MemFS, name: str, mode: str) -> None:
        if "w" in mode:
            fs.files[name] = bytearray()
        elif "a" in mode:
            fs.files.setdefault(name, bytearray())
        elif name not in fs.files:
            raise OSError(2, f"no such file: {name}")
        self._data = fs.files[name]
        self._pos = len(self._data) if "a" in mode else 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._pos + n
        out = bytes(self._data[self._pos : end])
        self._pos += len(out)
        return out

    def write(self, data: bytes) -> int:
        self._data[self._pos : self._pos + len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, pos: int) -> None:
        self._pos = pos

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class MemFS:
    """The store's filesystem interface in memory: thousands of simulated devices cost no
    files on disk."""

    def __init__(self) -> None:
        self.files: dict[str, bytearray] = {}

    def open(self, name: str, mode: str) -> MemFile:
        return MemFile(self, name, mode)

    def rename(self, old: str, new: str) -> None:
        self.files[new] = self.files.pop(old)

    def remove(self, name: str) -> None:
        del self.files[name]

    def size(self, name: str) -> int:
        data = self.files.get(name)
        return -1 if data is None else len(data)

    def listdir(self) -> list[str]:
        return list(self.files)


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
