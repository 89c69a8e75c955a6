"""`pletfri demo` as a person runs it: Ctrl-C stops it cleanly, nothing left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _processes_under(folder: Path) -> list[str]:
    """Command lines of running processes that mention `folder` (the servers' configs)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(folder) in cmd:
            found.append(cmd)
    return found


@pytest.mark.slow
def test_ctrl_c_stops_the_demo_and_its_servers(tmp_path: Path) -> None:
    env = {**os.environ, "PLETFRI_RUN__DIR": str(tmp_path)}
    pletfri = Path(sys.executable).with_name("pletfri")
    proc = subprocess.Popen(
        [str(pletfri), "demo", "--buildings", "2", "--days", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 120
    # Without a terminal the demo prints a line every six simulated hours.
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "06:00  sent" in line or not line:
            break
    assert any("06:00  sent" in x for x in lines), "".join(lines)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    text = "".join(lines) + out
    assert proc.returncode == 0, text
    assert "Ctrl-C" in text and "(interrupted)" in text
    assert _processes_under(tmp_path) == []
    assert (tmp_path / "demo" / "summary.json").exists()
    # Not a terminal: the summary's paths are printed whole all the same.
    assert f"report: {tmp_path / 'demo' / 'report.html'}\n" in text


@pytest.mark.parametrize(
    ("holiday", "says"),
    [("2026-13-01", "write it as YYYY-MM-DD"), ("1999-12-24", "is not one of the simulated days")],
)
def test_a_bad_holiday_is_refused_before_anything_starts(
    tmp_path: Path, holiday: str, says: str
) -> None:
    env = {**os.environ, "PLETFRI_RUN__DIR": str(tmp_path)}
    pletfri = Path(sys.executable).with_name("pletfri")
    r = subprocess.run(
        [str(pletfri), "demo", "--holiday", holiday],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert says in r.stderr
    assert not (tmp_path / "demo").exists()
