"""The monthly report from the hourly rollups has the same figures as from the raw visits,
and still has them once the person-level visits are deleted."""

from __future__ import annotations

import dataclasses
import time
from datetime import date, timedelta

import pytest
from behelpers import BUDDY, CLEANER, DAY, TRAINEE, at, occupancy, taps

from backend.reports import monthly as report
from backend.service import Backend
from pletfri import storage
from pletfri.settings import ReportSettings

NOW = at("08:00", date(2026, 12, 1))
FACTORS = ReportSettings()
DAYS = [DAY + timedelta(days=i) for i in range(4)]


def figures(r: report.MonthlyReport, training: bool = True) -> dict[str, object]:
    out = {
        "days": [dataclasses.astuple(d) for d in r.days],
        "buildings": [dataclasses.astuple(b) for b in r.buildings],
        "environment": dataclasses.astuple(r.environment) if r.environment else None,
        "quality": r.quality,
    }
    if training:
        out["training"] = [dataclasses.astuple(t) for t in r.training]
    return out


@pytest.fixture
def month(backend: Backend) -> Backend:
    """Four planned school days: cleanings made, missed, too short, without a leaving tap,
    a trainee with a buddy, and a visit to a room that was not due."""
    for i, day in enumerate(DAYS):
        occupancy(backend.influx, "s-class1", "08:00", "14:00", motion=25, day=day)
        occupancy(backend.influx, "s-wc", "08:00", "14:00", motion=10 + i, day=day)
        backend.make_plans(day, "afternoon", at("15:00", day))
        events: list[tuple[str, str, str | int]] = [
            ("s-wc", CLEANER, at("17:00", day)),
            ("s-wc", CLEANER, at("17:02" if i == 1 else "17:20", day)),  # day 2: too short
            ("s-office", CLEANER, at("18:00", day)),  # not due: unplanned
        ]
        if i % 2 == 0:
            events += [
                ("s-class1", TRAINEE, at("16:00", day)),
                ("s-class1", BUDDY, at("16:01", day)),
                ("s-class1", TRAINEE, at("16:40", day)),
                ("s-class1", BUDDY, at("16:41", day)),
            ]
        if i == 3:
            events.append(("s-class2", CLEANER, at("19:00", day)))  # no leaving tap
        taps(backend.influx, *events)
        backend.pair_visits(at("23:59", day))
    return backend


def test_report_from_rollups_equals_report_from_raw(month: Backend) -> None:
    assert month.room_days(DAY, DAYS[-1], NOW) == {}  # not rolled up yet: raw
    raw = report.monthly(month, "2026-11", NOW, FACTORS)
    raw_school = report.monthly(month, "2026-11", NOW, FACTORS, "s")
    raw_savings = month.savings(DAY, DAYS[-1], NOW)
    assert raw.total().done > 0 and raw.total().missed > 0 and raw.total().too_short > 0
    assert raw.total().no_leave_tap > 0
    # Up to the real now: the rollups are complete from where the CQs began.
    since, until = at("00:00", date(2026, 11, 1)), int(time.time() * 1000)
    storage.backfill(month.influx, month.settings.storage, "Europe/Copenhagen", since, until)
    assert list(month.room_days(DAY, DAYS[-1], NOW)) == DAYS
    from_rollups = report.monthly(month, "2026-11", NOW, FACTORS)
    assert figures(from_rollups) == figures(raw)
    # One building, too.
    assert figures(report.monthly(month, "2026-11", NOW, FACTORS, "s")) == figures(raw_school)
    # The person-level points go (retention): verification and savings stay. Training
    # follows persons, so it is made from the person-level visits while they are kept.
    for m in ("visit", "tap"):
        month.influx.query(f'DELETE FROM "{m}" WHERE time < {NOW}ms')
    after = report.monthly(month, "2026-11", NOW, FACTORS)
    assert figures(after, training=False) == figures(raw, training=False)
    assert after.training == []
    # `pletfri savings` and the API's /savings, too.
    assert month.savings(DAY, DAYS[-1], NOW) == raw_savings


def test_rollups_off_reads_raw(month: Backend) -> None:
    storage.backfill(
        month.influx, month.settings.storage, "Europe/Copenhagen", at("00:00", DAY), NOW
    )
    month.settings.storage.read_rollups = False
    assert month.room_days(DAY, DAYS[-1], NOW) == {}
