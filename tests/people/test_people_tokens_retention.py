"""The people's commands: API tokens, and retention deleting old person-level data."""

from __future__ import annotations

from datetime import timedelta

from behelpers import CLEANER, DAY, at, taps
from typer.testing import CliRunner

from backend.service import Backend
from pletfri.cli import app as cli


def test_retention_deletes_old_person_level_data_and_keeps_daily_sums(backend: Backend) -> None:
    old = DAY - timedelta(days=100)
    taps(backend.influx, ("s-wc", CLEANER, at("16:00", old)), ("s-wc", CLEANER, at("16:12", old)))
    taps(backend.influx, ("s-wc", CLEANER, at("16:00")), ("s-wc", CLEANER, at("16:10")))
    backend.pair_visits(at("17:00", old), since_ms=at("00:00", old))
    backend.pair_visits(at("17:00"))
    removed = backend.forget(at("18:00"))
    # Every day from the oldest visit up to the cut-off is summarised once.
    assert removed.keep_from == DAY - timedelta(days=89) and removed.days_summarised == 11
    assert removed.points == {"tap": 2, "visit": 1}
    visits = backend.influx.query("SELECT card FROM visit")
    assert [r["time"] for r in visits] == [at("16:00")]
    assert len(backend.influx.query("SELECT card FROM tap")) == 2
    [summary] = backend.influx.query("SELECT * FROM visit_day")
    assert (summary["room"], summary["visits"], summary["minutes"]) == ("s-wc", 1, 12.0)
    assert "card" not in summary


def test_token_commands(run: CliRunner) -> None:
    out = run.invoke(cli, ["backend", "token", "add", "--role", "admin", "--label", "ops"])
    assert out.exit_code == 0 and len(out.output.strip()) > 30
    out = run.invoke(cli, ["backend", "token", "add", "--role", "service_leader", "--label", "x",
                           "--person", "p1"])  # fmt: skip
    assert out.exit_code == 2 and "'p1' is cleaner" in out.output
    out = run.invoke(cli, ["backend", "token", "revoke", "--label", "ops"])
    assert out.output.strip() == "revoked 1 token(s)"
