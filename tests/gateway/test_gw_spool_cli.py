"""The spool on its own (order, bound, quarantine, reopening) and the gateway's CLI errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.spool import Spool, SpoolFull
from pletfri.cli import app


def test_spool_keeps_order_and_state_across_reopening_and_refuses_past_its_bound(
    tmp_path: Path,
) -> None:
    path = tmp_path / "spool.sqlite"
    sp = Spool(path, max_bytes=100, fsync=False)
    sp.append([["a 1"], ["b 2", "c 3"]], [("occ-1", "1:5:1f")], now_ms=1)
    sp.append([["d 4"]], [], now_ms=2)
    with pytest.raises(SpoolFull):
        sp.append([["x" * 100]], [], now_ms=3)
    assert (sp.lines, sp.bytes) == (4, 13)
    first = sp.oldest(max_lines=3)
    assert [c.body for c in first] == [b"a 1", b"b 2\nc 3"]
    sp.delete(first[:1])
    sp.quarantine(first[1:], "400: type conflict")
    sp.close()

    again = Spool(path, max_bytes=100, fsync=False)
    assert (again.lines, again.bytes) == (1, 3)
    assert [c.body for c in again.oldest(10)] == [b"d 4"]
    assert again.dedup_rows() == [("occ-1", "1:5:1f")]
    assert again.quarantined() == 1
    again.close()


def test_cli_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLETFRI_GATEWAY__REGISTRY_FILE", str(tmp_path / "devices.csv"))
    monkeypatch.setenv("PLETFRI_GATEWAY__STATE_DIR", str(tmp_path / "state"))
    runner = CliRunner()
    result = runner.invoke(app, ["gateway", "run"])
    assert result.exit_code == 2
    assert "devices.csv does not exist; export it" in result.output
    result = runner.invoke(app, ["gateway", "spool"])
    assert result.exit_code == 2
    assert "no spool at" in result.output
    result = runner.invoke(app, ["gateway", "serial", "--port", str(tmp_path / "nothing")])
    assert result.exit_code == 2
