"""The demo's closing summary prints every file path whole, however narrow the output."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from sim.summary import Summary


@pytest.mark.parametrize("width", [40, 80])
def test_paths_are_printed_whole_when_the_output_is_not_a_terminal(width: int) -> None:
    folder = "/srv/pletfri/a-rather-long-folder-name-for-the-runs/run/demo"
    contract = [f"{folder}/reports/rapport-2026-11.html", f"{folder}/reports/rapport-2026-11.pdf"]
    summary = Summary(
        buildings=4, rooms=120, first_day="Mon 23 Nov", last_day="Fri 27 Nov 2026", wall_s=61.0,
        interrupted=False, sent=1000, sent_by_channel={}, periods_sent=0, received=1000,
        accepted=1000, duplicates=0, rejected={}, points_stored=900, points={"tap": 100},
        database="pletfri_demo", folder=folder, contract_report=contract,
    )  # fmt: skip
    out = io.StringIO()
    console = Console(file=out, width=width)
    assert not console.is_terminal
    summary.print(console)
    lines = out.getvalue().splitlines()
    for path in [f"{folder}/report.html", f"{folder}/summary.json", *contract]:
        assert any(line.endswith(f": {path}") for line in lines), (path, out.getvalue())
    serve = f"pletfri services run --run-dir {folder}/servers"
    assert any(line.endswith(serve) for line in lines)
