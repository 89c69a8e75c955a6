"""Flash in memory: the store's filesystem interface without files on disk.

MicroPython-clean (annotations only in signatures and attributes, which MicroPython
parses and ignores; no __future__ import), because the firmware tests and the heap
benchmark import it inside the real MicroPython interpreter as well as under CPython;
the simulator gives each of its thousands of devices one.
"""


class MemFile:
    """A file in MemFS: its bytes are in the filesystem at every write, as on flash."""

    __slots__ = ("_data", "_pos")

    def __init__(self, fs: "MemFS", name: str, mode: str) -> None:
        if "w" in mode:
            fs.files[name] = bytearray()
        elif "a" in mode:
            if name not in fs.files:
                fs.files[name] = bytearray()
        elif name not in fs.files:
            raise OSError(2, "no such file: " + name)
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
