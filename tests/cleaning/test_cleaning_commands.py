"""The day's commands end to end, room type overrides, and one round of `backend run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from behelpers import CLEANER, DAY, at, occupancy, taps
from typer.testing import CliRunner

from backend.cleaning import roomtypes
from backend.service import Backend, BackendError
from pletfri.cli import app as cli
from pletfri.settings import Settings


@pytest.mark.usefixtures("need_topics")
def test_a_day_through_the_commands(run: CliRunner, backend: Backend) -> None:
    occupancy(backend.influx, "s-class1", "08:00", "14:00", motion=25)
    day = ["--date", DAY.isoformat()]
    out = run.invoke(cli, ["plan", "-b", "s", *day, "--now", f"{DAY}T15:00", "--json"])
    assert out.exit_code == 0, out.output
    [plan] = json.loads(out.output)
    # Nothing was ever verified clean: all four rooms are due, floor by floor, zone by zone.
    assert [e["room"] for e in plan["due"]] == ["s-class2", "s-office", "s-wc", "s-class1"]
    taps(backend.influx, ("s-class1", CLEANER, "16:00"), ("s-class1", CLEANER, "16:20"))
    out = run.invoke(cli, ["visits", "pair", "--now", f"{DAY}T22:00"])
    assert out.output.strip() == "1 visits written"
    out = run.invoke(cli, ["verify", "-b", "s", *day, "--now", f"{DAY}T22:00"])
    assert out.exit_code == 0, out.output
    assert "s 2026-11-16: planned 4, done 1, missed 3" in out.output
    out = run.invoke(cli, ["savings", "--from", DAY.isoformat(), "--now", f"{DAY}T22:00"])
    assert "done 1" in out.output and "due and not cleaned: 3" in out.output
    out = run.invoke(cli, ["need", "publish", "--now", f"{DAY}T22:30"])
    assert out.exit_code == 0 and "5 rooms" in out.output
    out = run.invoke(cli, ["plan", "-b", "nowhere"])
    assert out.exit_code == 2 and "no building 'nowhere' in the registry" in out.output
    out = run.invoke(cli, ["verify", "--now", "yesterday"])
    assert out.exit_code == 2 and "give a local time like" in out.output


@pytest.mark.usefixtures("need_topics")
def test_backend_run_plans_each_shift_as_it_begins(backend: Backend) -> None:
    backend.tick(at("10:59"), at("10:54"))
    assert backend.plans(DAY) == []
    backend.tick(at("11:02"), at("10:59"))
    # The day-care has no room type cleaned at midday, so only the school has a midday plan.
    assert [(p.building, p.shift) for p in backend.plans(DAY)] == [("s", "midday")]


def test_room_types_can_be_overridden_and_errors_are_clear(tmp_path: Path) -> None:
    f = tmp_path / "types.toml"
    f.write_text(
        "[toilet]\nhygiene_floor_days = 2\n"
        "[library]\nfixed_per_week = 1\nhygiene_floor_days = 7\n"
        "signals = { motion = 0.01 }\nminutes_per_m2 = 0.1\n"
    )
    types = roomtypes.load(f)
    assert types["toilet"].hygiene_floor_days == 2
    assert types["toilet"].shifts == ["midday", "afternoon"]
    assert types["library"].minutes(100) == 10
    f.write_text("[toilet]\nsignals = { smell = 1.0 }\n")
    with pytest.raises(roomtypes.RoomTypeError, match=r"\[toilet\]: signals.smell"):
        roomtypes.load(f)
    f.write_text("[gallery]\nfixed_per_week = 1\n")
    with pytest.raises(roomtypes.RoomTypeError, match="a new type needs every field"):
        roomtypes.load(f)


def test_a_hygiene_floor_beyond_the_lookback_is_refused(settings: Settings, tmp_path: Path) -> None:
    f = tmp_path / "types.yaml"
    f.write_text("office:\n  hygiene_floor_days: 30\n")
    s = settings.model_copy(
        update={"backend": settings.backend.model_copy(update={"room_types_file": f})}
    )
    with pytest.raises(BackendError, match="raise lookback_days to at least 30"):
        Backend(s)
