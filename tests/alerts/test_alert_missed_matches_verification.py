"""`missed_cleaning` alerts and the backend's verification count the same missed cleanings.

A hand-made Monday where the two used to disagree (the rule looked for a visit within each
shift, and only among the visits inside its lookback; verification counts the room's visits
that day): a visit just after the shift's grace, a room due twice with one visit, in the
later shift, and a visit in the first hour of a shift judged with a six-hour lookback (as
the demo does). A room due twice whose only visit comes after the first shift was
judged is alerted for that shift, then for the later one instead, as the day's count says.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from backend.alerts.backend_sources import BackendSources
from backend.alerts.engine import AlertEngine
from backend.cleaning import plans
from backend.cleaning.planner import Plan, PlanEntry
from backend.registry import Registry
from backend.registry.model import Building, RegistryData, Room
from pletfri.influx import Influx
from pletfri.settings import Settings

from .helpers import HOUR, MIN, T0_MS, visit

MONDAY = date(2026, 11, 23)
# T0 is Monday 10:00 in Copenhagen.
MIDDAY = (T0_MS + HOUR, T0_MS + 3 * HOUR)  # 11:00-13:00
AFTERNOON = (T0_MS + 5 * HOUR, T0_MS + 11 * HOUR)  # 15:00-21:00
ROOMS = ("b001-r101", "b001-r102", "b001-r103", "b001-r104")


def _entry(room: str) -> PlanEntry:
    return PlanEntry(room, "b001", "classroom", 0, "", True, "need", 1.4, None, 15.0)


@pytest.fixture
def settings6(alert_settings: Settings) -> Settings:
    alerts = alert_settings.alerts.model_copy(update={"lookback_h": 6})
    return alert_settings.model_copy(update={"alerts": alerts})


@pytest.fixture
def monday(settings6: Settings) -> Iterator[BackendSources]:
    data = RegistryData(
        buildings=[Building(id="b001", name="Skolen", kind="school")],
        rooms=[Room(id=r, building="b001", type="classroom", area_m2=60) for r in ROOMS],
    )
    with Registry(settings6.backend.database_file) as reg:
        reg.replace(data)
        plans.save(
            reg,
            [
                Plan(
                    MONDAY,
                    "midday",
                    "b001",
                    *MIDDAY,
                    MIDDAY[0],
                    [_entry(r) for r in ROOMS[:2] + ROOMS[3:]],
                ),
                Plan(
                    MONDAY,
                    "afternoon",
                    "b001",
                    *AFTERNOON,
                    AFTERNOON[0],
                    [_entry(ROOMS[0]), _entry(ROOMS[2]), _entry(ROOMS[3])],
                ),
            ],
        )
    sources = BackendSources(settings6)
    yield sources
    sources.close()


def test_alerts_are_the_cleanings_verification_counts_missed(
    settings6: Settings, monday: BackendSources, influx: Influx
) -> None:
    visit(influx, "b001-r101", T0_MS + 5 * HOUR + 30 * MIN, 600)  # due twice, one visit
    visit(influx, "b001-r102", T0_MS + 3 * HOUR + 45 * MIN, 600)  # midday's, after the grace
    visit(influx, "b001-r103", T0_MS + 5 * HOUR + 10 * MIN, 600)  # before the 16:00 lookback
    visit(influx, "b001-r104", T0_MS + 6 * HOUR + 30 * MIN, 600)  # due twice, visit at 16:30
    with AlertEngine(settings6, monday, influx) as engine:
        raised, resolved = [], []
        for hours in (6, 12, 14):  # the demo's 16:00 and 22:00, and midnight
            result = engine.evaluate(T0_MS + hours * HOUR)
            raised += [a.subject for a in result.new]
            resolved += [a.subject for a in result.resolved]
        assert raised == [
            "b001-r104@midday@2026-11-23",
            "b001-r101@afternoon@2026-11-23",
            "b001-r104@afternoon@2026-11-23",
        ]
        assert resolved == ["b001-r104@midday@2026-11-23"]
        # Two alerts opened at 22:00 in one building: still two points (points.py).
        rows = influx.query("SELECT count(subject) FROM alert WHERE kind = 'missed_cleaning'")
        assert rows[0]["count"] == len(raised)
        still = sorted(a.room for a in engine.store.open_alerts("missed_cleaning"))
        book = monday.backend.verify(MONDAY, T0_MS + 14 * HOUR)["b001"]
        assert (book.planned, book.done, book.missed) == (6, 4, 2)
        assert sorted(book.missed_rooms) == still == ["b001-r101", "b001-r104"]
        # The station's queue replays a second visit: the alert resolves, the book agrees.
        visit(influx, "b001-r101", T0_MS + 10 * HOUR, 600)
        result = engine.evaluate(T0_MS + 14 * HOUR + 30 * MIN)
        assert [a.subject for a in result.resolved] == ["b001-r101@afternoon@2026-11-23"]
        assert monday.backend.verify(MONDAY, T0_MS + 15 * HOUR)["b001"].missed_rooms == [
            "b001-r104"
        ]
