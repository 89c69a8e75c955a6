"""The planner's decisions on hand-made usage, the stored plan, and the need topic."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest
from behelpers import CLEANER, DAY, at, occupancy, taps
from paho.mqtt.enums import CallbackAPIVersion

from backend.cleaning.visits import Visit, visit_line
from backend.service import Backend
from pletfri_fw import contract


def cleaned(backend: Backend, room: str, arrive_ms: int, minutes: int = 30) -> None:
    building = backend.registry.room(room).building
    v = Visit(building, room, CLEANER, arrive_ms, arrive_ms + minutes * 60_000)
    backend.influx.write([visit_line(v)])


def test_unused_room_is_skipped_and_used_one_is_due(backend: Backend) -> None:
    yesterday = DAY - timedelta(days=1)
    for room in ("s-class1", "s-class2", "s-office"):
        cleaned(backend, room, at("16:00", yesterday))
    occupancy(backend.influx, "s-class1", "08:00", "14:00", motion=25)  # 24 periods x 25
    [plan] = backend.make_plans(DAY, "afternoon", now_ms=at("14:30"), building="s")
    due = {e.room: e for e in plan.due}
    skip = {e.room: e for e in plan.skip}
    assert due["s-class1"].reason == "usage" and due["s-class1"].score == 2.0
    assert skip["s-class2"].score == 0 and skip["s-class2"].reason == "none"
    assert "s-office" in skip
    # The toilet was never cleaned within the lookback: its hygiene floor makes it due.
    assert due["s-wc"].reason == "hygiene_floor"


def test_heavy_toilet_is_due_in_both_shifts(backend: Backend) -> None:
    cleaned(backend, "s-wc", at("17:00", DAY - timedelta(days=1)))
    occupancy(backend.influx, "s-wc", "08:00", "11:00", motion=20)  # 12 x 20 = 240 -> 1.6
    [midday] = backend.make_plans(DAY, "midday", now_ms=at("11:00"), building="s")
    assert [(e.room, e.reason) for e in midday.due] == [("s-wc", "usage")]
    taps(backend.influx, ("s-wc", CLEANER, "11:30"), ("s-wc", CLEANER, "11:45"))
    backend.pair_visits(at("12:00"))
    occupancy(backend.influx, "s-wc", "12:00", "15:00", motion=15)  # 12 x 15 = 180 -> 1.2
    [afternoon] = backend.make_plans(DAY, "afternoon", now_ms=at("15:00"), building="s")
    wc = next(e for e in afternoon.due if e.room == "s-wc")
    assert wc.reason == "usage" and wc.since_ms == at("11:30") and wc.score == 1.2
    # The midday visit reset the count: the morning's use is not in the afternoon's score.
    assert backend.needs(at("11:35"), "s")["s-wc"].score == 0


def test_hygiene_floor_forces_a_clean_of_an_unused_room(backend: Backend) -> None:
    cleaned(backend, "s-office", at("16:00", DAY - timedelta(days=8)))
    cleaned(backend, "s-class2", at("16:00", DAY - timedelta(days=3)))
    [plan] = backend.make_plans(DAY, "afternoon", now_ms=at("15:00"), building="s")
    due = {e.room: e for e in plan.due}
    assert due["s-office"].reason == "hygiene_floor" and due["s-office"].score == 0
    assert "s-class2" in {e.room for e in plan.skip}


def test_a_short_visit_does_not_count_as_a_cleaning(backend: Backend) -> None:
    cleaned(backend, "s-class1", at("16:00", DAY - timedelta(days=1)))
    occupancy(backend.influx, "s-class1", "08:00", "14:00", motion=25)
    taps(backend.influx, ("s-class1", CLEANER, "14:00"), ("s-class1", CLEANER, "14:02"))
    backend.pair_visits(at("14:10"))
    n = backend.needs(at("14:30"), "s")["s-class1"]
    assert n.due and n.since_ms == at("16:00", DAY - timedelta(days=1))


def test_route_goes_floor_by_floor_then_zone_and_the_plan_is_stored(backend: Backend) -> None:
    made = backend.make_plans(DAY, "afternoon", now_ms=at("15:00"))
    assert [p.building for p in made] == ["d", "s"]
    school = made[1]
    assert [(e.floor, e.zone) for e in school.due] == sorted((e.floor, e.zone) for e in school.due)
    assert school.minutes == sum(e.minutes for e in school.due)
    [stored] = backend.plans(DAY, "s", "afternoon")
    assert [e.room for e in stored.due] == [e.room for e in school.due]
    # Made again, the plan replaces the earlier one rather than adding to it.
    backend.make_plans(DAY, "afternoon", now_ms=at("15:00"))
    assert len(backend.plans(DAY, "s", "afternoon")[0].due) == len(school.due)


@pytest.mark.usefixtures("need_topics")
def test_need_is_published_retained_for_each_station(backend: Backend) -> None:
    cleaned(backend, "s-class2", at("16:00", DAY - timedelta(days=1)))
    occupancy(backend.influx, "s-class1", "08:00", "14:00", motion=25)
    found = backend.publish_need(at("14:30"))
    assert found["s-class1"].due and not found["s-class2"].due
    got: dict[str, dict[str, object]] = {}
    done = threading.Event()

    def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        got[contract.parse_topic(msg.topic)[0]] = json.loads(msg.payload)
        if len(got) == 5:
            done.set()

    m = backend.settings.mqtt
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    sub.connect(m.host, m.port)
    sub.subscribe(contract.topic("+", contract.NEED), qos=1)
    sub.loop_start()
    try:
        assert done.wait(10), got
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert got["nfc-000000000000"] == {"need": "clean", "score": 2.0, "since": None}
    assert got["nfc-000000000001"] == {
        "need": "skip",
        "score": 0.0,
        "since": at("16:00", DAY - timedelta(days=1)),
    }
    rows = backend.influx.query("SELECT score, due FROM need GROUP BY room")
    assert {r["room"]: r["due"] for r in rows}["s-class1"] is True


@pytest.mark.usefixtures("need_topics")
def test_the_station_light_agrees_with_the_coming_shift(backend: Backend) -> None:
    # Seven days (the office's hygiene floor) are up at 16:00, during the afternoon shift.
    cleaned(backend, "s-office", at("16:00", DAY - timedelta(days=7)))
    assert not backend.needs(at("14:30"), "s")["s-office"].due
    assert backend.publish_need(at("14:30"))["s-office"].reason == "hygiene_floor"
    [plan] = backend.make_plans(DAY, "afternoon", now_ms=at("14:30"), building="s")
    assert "s-office" in {e.room for e in plan.due}
