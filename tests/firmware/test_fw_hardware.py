"""The documents agree with the code: pin map, energy model, the simulator example."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from pletfri.cli import app as cli
from pletfri_fw import pins
from pletfri_host.energy import Model, table

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE_MD = (ROOT / "docs" / "firmware.md").read_text()


def doc_pins(section: str) -> dict[str, int]:
    text = (ROOT / "hardware" / "pinmap.md").read_text()
    part = text.split(f"## {section} ")[1].split("\n## ")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^\| (\w+) \| (\d+) \|", part, re.M)}


def test_pin_map_doc_matches_pins_py() -> None:
    assert doc_pins("Check-in station") == pins.STATION
    assert doc_pins("Check-in station with an MFRC522") == pins.STATION_MFRC522
    assert doc_pins("Occupancy sensor") == pins.SENSOR


def test_energy_model_gives_three_years_and_the_doc_shows_it() -> None:
    m = Model()
    assert m.years() >= 3.0
    assert table(m) in FIRMWARE_MD
    assert f"{m.years():.1f} years" in FIRMWARE_MD
    r = CliRunner().invoke(cli, ["device", "energy"])
    assert r.exit_code == 0 and f"{m.years():.1f} years" in r.output


def test_simulator_example_in_the_doc_runs() -> None:
    section = FIRMWARE_MD.split("## How to drive the firmware logic from the simulator")[1]
    code = section.split("```python\n")[1].split("```")[0]
    ns: dict[str, object] = {}
    exec(compile(code, "docs/firmware.md", "exec"), ns)
    assert ns["channel"] == "occupancy"
    assert b'"motion":15' in ns["payload"]  # type: ignore[operator]
