"""Each rule on real InfluxDB data: a case that makes it fire and one that keeps it quiet."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from backend.alerts.engine import AlertEngine
from backend.alerts.model import Evaluation
from backend.alerts.sources import PlannedCleaning, StaticSources
from backend.alerts.texts import render
from pletfri.influx import Influx

from .helpers import (
    CARD,
    HOUR,
    MIN,
    SENSOR,
    STATION,
    STATION2,
    T0_MS,
    heartbeat,
    occupancy,
    status,
    tap,
    visit,
    write,
)

UNKNOWN = "fedcba9876543210"


def fired(result: Evaluation, rule: str) -> list[str]:
    return sorted(a.subject for a in result.new if a.rule == rule)


def plan(sources: StaticSources) -> None:
    sources.plan.append(
        PlannedCleaning("b001", "b001-r101", "morning", T0_MS - 4 * HOUR, T0_MS - HOUR)
    )


def test_missed_cleaning_fires_and_a_late_visit_resolves_it(
    engine: AlertEngine, sources: StaticSources, influx: Influx
) -> None:
    plan(sources)
    alert = engine.evaluate(T0_MS).new[0]
    assert alert.rule == "missed_cleaning" and alert.room == "b001-r101"
    assert alert.subject == "b001-r101@morning@2026-11-23"
    # The station's queue is replayed: the visit was made in time after all.
    visit(influx, "b001-r101", T0_MS - 2 * HOUR, 900)
    assert [a.id for a in engine.evaluate(T0_MS + MIN).resolved] == [alert.id]


def test_missed_cleaning_quiet_when_visited_or_within_grace(
    engine: AlertEngine, sources: StaticSources, influx: Influx
) -> None:
    plan(sources)
    assert fired(engine.evaluate(T0_MS - 40 * MIN), "missed_cleaning") == []  # grace 30 min
    visit(influx, "b001-r101", T0_MS - 3 * HOUR, 900)
    assert fired(engine.evaluate(T0_MS), "missed_cleaning") == []


def _need(influx: Influx, room: str, score: float, at_ms: int) -> None:
    write(influx, "need", {"building": "b001", "room": room}, {"score": score, "due": True}, at_ms)


def test_overdue_room_fires_far_over_threshold_for_hours(
    engine: AlertEngine, influx: Influx
) -> None:
    # r101 far over its threshold since 9 h ago (the rule's default wait is 8 h), r102
    # over the threshold but not twice it, r103 far over for only 2 h: its shift may
    # still come.
    _need(influx, "b001-r101", 2.2, T0_MS - 9 * HOUR)
    _need(influx, "b001-r101", 2.5, T0_MS - HOUR)
    _need(influx, "b001-r102", 1.5, T0_MS - 9 * HOUR)
    _need(influx, "b001-r103", 2.5, T0_MS - 2 * HOUR)
    result = engine.evaluate(T0_MS)
    assert fired(result, "overdue_room") == ["b001-r101"]
    alert = next(a for a in result.new if a.rule == "overdue_room")
    assert alert.params["since_ms"] == T0_MS - 9 * HOUR and alert.params["score"] == 2.5
    text = render(alert, "opened", "en", ZoneInfo("Europe/Copenhagen"))["text"]
    assert "not been cleaned since it passed that at 2026-11-23" in text
    # Cleaned: the condition clears, and the next need points count from the visit.
    visit(influx, "b001-r101", T0_MS + MIN, 900)
    _need(influx, "b001-r101", 2.1, T0_MS + 2 * HOUR)
    assert [a.subject for a in engine.evaluate(T0_MS + 3 * HOUR).resolved] == ["b001-r101"]
    assert fired(engine.evaluate(T0_MS + 7 * HOUR), "overdue_room") == ["b001-r103"]


def test_short_visit_fires_for_visits_the_backend_judged_short(
    engine: AlertEngine, influx: Influx
) -> None:
    visit(influx, "b001-r101", T0_MS - HOUR, 120, short=True)  # classroom, 60 m²
    visit(influx, "b001-r101", T0_MS - 50 * MIN, 180, short=True)
    visit(influx, "b001-r102", T0_MS - HOUR, 600)
    visit(influx, "b002-r201", T0_MS - HOUR, 800, building="b002")
    result = engine.evaluate(T0_MS)
    assert fired(result, "short_visit") == ["b001-r101@2026-11-23"]
    assert result.new[0].params == {
        "day": "2026-11-23",
        "count": 2,
        "shortest_min": 2.0,
        "expected_min": 15.0,  # 0.25 min/m² for a classroom (backend/roomtypes.py)
        "area_m2": 60.0,
    }


def test_sensor_silent_past_its_window_is_offline(engine: AlertEngine, influx: Influx) -> None:
    occupancy(influx, T0_MS - 3 * HOUR, motion=4)
    occupancy(influx, T0_MS - 3 * HOUR, motion=4, device="occ-a4cf12f0b3c9")
    occupancy(influx, T0_MS - 30 * MIN, motion=0, device="occ-a4cf12f0b3c9")
    assert fired(engine.evaluate(T0_MS), "device_offline") == [SENSOR]


def test_gateway_timeout_mark_is_offline_at_once_and_clears_when_heard(
    engine: AlertEngine, influx: Influx
) -> None:
    occupancy(influx, T0_MS - 2 * HOUR - MIN, motion=1)
    write(
        influx,
        "device",
        {"device": SENSOR, "kind": "sensor", "building": "b001"},
        {"online": 0, "reason": "timeout"},
        T0_MS - MIN,
    )
    alert = engine.evaluate(T0_MS).new[0]
    assert alert.subject == SENSOR and alert.params["since_ms"] == T0_MS - 2 * HOUR - MIN
    occupancy(influx, T0_MS + 10 * MIN, motion=1)
    assert [a.id for a in engine.evaluate(T0_MS + 11 * MIN).resolved] == [alert.id]


def test_station_briefly_offline_is_quiet(engine: AlertEngine, influx: Influx) -> None:
    status(influx, STATION, False, T0_MS - 5 * MIN)
    heartbeat(influx, STATION2, T0_MS - 5 * MIN, building="b002", rssi=-60)
    assert fired(engine.evaluate(T0_MS), "device_offline") == []


def test_battery_low_and_falling(engine: AlertEngine, influx: Influx) -> None:
    heartbeat(influx, SENSOR, T0_MS - 20 * HOUR, batt_mv=2480)
    heartbeat(influx, SENSOR, T0_MS - HOUR, batt_mv=2250)
    # Low but steady (e.g. a cold room): not falling, no alert.
    heartbeat(influx, "occ-a4cf12f0b3c9", T0_MS - 20 * HOUR, batt_mv=2350)
    heartbeat(influx, "occ-a4cf12f0b3c9", T0_MS - HOUR, batt_mv=2345)
    # Falling but healthy.
    heartbeat(influx, "occ-a4cf12f0b3ca", T0_MS - 20 * HOUR, batt_mv=3100)
    heartbeat(influx, "occ-a4cf12f0b3ca", T0_MS - HOUR, batt_mv=2900)
    result = engine.evaluate(T0_MS)
    assert fired(result, "battery") == [SENSOR]
    assert result.new[0].params == {"device": SENSOR, "mv": 2250, "drop_mv": 230, "hours": 24}


def test_offline_queue_growing(engine: AlertEngine, influx: Influx) -> None:
    for i, q in enumerate((2, 8, 15)):
        heartbeat(influx, STATION, T0_MS - (40 - 15 * i) * MIN, queue=q)
    for i, q in enumerate((15, 30, 0)):  # drained: quiet
        heartbeat(influx, STATION2, T0_MS - (40 - 15 * i) * MIN, building="b002", queue=q)
    result = engine.evaluate(T0_MS)
    assert fired(result, "queue") == [STATION]
    heartbeat(influx, STATION, T0_MS + MIN, queue=0)
    assert [a.subject for a in engine.evaluate(T0_MS + 2 * MIN).resolved] == [STATION]


def test_clock_not_synced(engine: AlertEngine, influx: Influx) -> None:
    for i in range(3):
        tap(influx, CARD, T0_MS - (30 - i) * MIN, clock_ok=False)
        occupancy(influx, T0_MS - (30 - i) * MIN, motion=1, clock_ok=False)
    occupancy(influx, T0_MS - MIN, motion=1)  # the sensor's clock is synced again
    assert fired(engine.evaluate(T0_MS), "clock") == [STATION]


def test_silent_sensor_in_a_room_in_use(engine: AlertEngine, influx: Influx) -> None:
    # Monday 08:00-10:00 local, timetabled use: four periods, no motion at all.
    for i in range(8):
        occupancy(influx, T0_MS - i * 15 * MIN, motion=0)
        occupancy(
            influx, T0_MS - i * 15 * MIN, motion=3 if i == 4 else 0, device="occ-a4cf12f0b3c9"
        )
    result = engine.evaluate(T0_MS)
    assert fired(result, "silent_sensor") == [SENSOR]
    for i in range(1, 21):  # nothing counted until 15:00 either
        occupancy(influx, T0_MS + i * 15 * MIN, motion=0)
    # In the evening the latest timetabled window is still 13:00-15:00: the alert stays.
    assert engine.evaluate(T0_MS + 9 * HOUR).resolved == []
    occupancy(influx, T0_MS + 24 * HOUR, motion=5)  # Tuesday 10:00: the cover is gone
    resolved = engine.evaluate(T0_MS + 24 * HOUR + MIN).resolved
    assert "silent_sensor" in [a.rule for a in resolved if a.subject == SENSOR]


def test_silent_sensor_quiet_outside_timetable(engine: AlertEngine, influx: Influx) -> None:
    sunday_noon = T0_MS - 22 * HOUR
    for i in range(8):
        occupancy(influx, sunday_noon - i * 15 * MIN, motion=0)
    assert fired(engine.evaluate(sunday_noon), "silent_sensor") == []


def test_unknown_card_fires_once_per_day_and_clears_when_registered(
    engine: AlertEngine, sources: StaticSources, influx: Influx
) -> None:
    tap(influx, UNKNOWN, T0_MS - 20 * MIN)
    tap(influx, UNKNOWN, T0_MS - 10 * MIN)
    tap(influx, CARD, T0_MS - 5 * MIN)
    result = engine.evaluate(T0_MS)
    assert fired(result, "unknown_card") == [f"{UNKNOWN}@b001@2026-11-23"]
    assert result.new[0].params["count"] == 2
    sources.cards.add(UNKNOWN)
    assert len(engine.evaluate(T0_MS + MIN).resolved) == 1


def test_acknowledged_event_alert_does_not_come_back(engine: AlertEngine, influx: Influx) -> None:
    tap(influx, UNKNOWN, T0_MS - 20 * MIN)
    alert = engine.evaluate(T0_MS).new[0]
    assert engine.acknowledge(alert.id, "anna", T0_MS + MIN).state == "resolved"
    tap(influx, UNKNOWN, T0_MS + 2 * MIN)
    assert engine.evaluate(T0_MS + 3 * MIN).new == []


def test_card_in_two_buildings_too_fast(engine: AlertEngine, influx: Influx) -> None:
    tap(influx, CARD, T0_MS - 30 * MIN)
    tap(influx, CARD, T0_MS - 24 * MIN, device=STATION2, building="b002", room="b002-r201")
    result = engine.evaluate(T0_MS)
    assert fired(result, "card_travel") == [f"{CARD}@b001@2026-11-23", f"{CARD}@b002@2026-11-23"]
    assert {a.params["minutes"] for a in result.new} == {6.0}


def test_card_travel_quiet_when_time_allows_or_clock_unsure(
    engine: AlertEngine, influx: Influx
) -> None:
    tap(influx, CARD, T0_MS - 90 * MIN)
    tap(influx, CARD, T0_MS - 50 * MIN, device=STATION2, building="b002", room="b002-r201")
    # An undated tap carries its arrival time, not when it happened.
    tap(influx, CARD, T0_MS - 45 * MIN, clock_ok=False)
    assert fired(engine.evaluate(T0_MS), "card_travel") == []
