"""Start a board as the device does after a reset, in the current folder: its boot.py,
then its main.py. `python run.py <firmware dir> <board dir>`. MicroPython's extra `time`
and `gc` functions are added to CPython's; `machine`, `network`, `esp32` come from here."""

from __future__ import annotations

import gc
import runpy
import sys
import time
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path[:0] = [str(here), sys.argv[1]]
_start = time.monotonic()
time.ticks_ms = lambda: int((time.monotonic() - _start) * 1000) & 0x3FFFFFFF  # type: ignore[attr-defined]
time.ticks_diff = lambda a, b: ((a - b + 0x20000000) & 0x3FFFFFFF) - 0x20000000  # type: ignore[attr-defined]
time.sleep_ms = lambda ms: time.sleep(ms / 1000)  # type: ignore[attr-defined]
gc.mem_free = lambda: 98_304  # type: ignore[attr-defined]
for name in ("boot.py", "main.py"):
    runpy.run_path(str(Path(sys.argv[2]) / name), run_name="__main__")
