"""The scenario models: pure, seeded, and realistic where the demo's claims depend on it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from pletfri_host.sim import SharedLink
from sim.calendar import SimDay, last_full_week_monday, school_week
from sim.cleaning import BehaviourConfig, PlannedRoom, work_shift
from sim.faults import plant
from sim.usage import RoomUsage, UsageConfig, expected
from sim.world import Municipality, Room

TZ = ZoneInfo("Europe/Copenhagen")
SHIFT = datetime(2026, 11, 24, 15, 0, tzinfo=TZ)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(15, 0), TZ)


@pytest.mark.parametrize(
    ("today", "monday"),
    [
        (date(2026, 11, 28), date(2026, 11, 23)),  # Saturday: this week is complete
        (date(2026, 11, 27), date(2026, 11, 16)),  # Friday: this week is not over yet
        (date(2026, 11, 23), date(2026, 11, 16)),  # Monday
    ],
)
def test_last_full_week(today: date, monday: date) -> None:
    assert last_full_week_monday(today) == monday


def test_school_week_lies_in_the_past_and_marks_the_holiday() -> None:
    cal = school_week(date(2026, 11, 25), 5, TZ, holiday=date(2026, 11, 20))
    assert cal.days[0].day == date(2026, 11, 16)
    assert cal.end <= datetime.combine(date(2026, 11, 25), time(0), TZ)
    assert [d.holiday for d in cal.days] == [False, False, False, False, True]
    # More days than fit before today start whole weeks earlier.
    long = school_week(date(2026, 11, 25), 12, TZ)
    assert long.days[0].day.weekday() == 0
    assert long.end <= datetime.combine(date(2026, 11, 25), time(0), TZ)


def test_holiday_outside_the_run_is_refused_with_the_range() -> None:
    with pytest.raises(ValueError, match=r"2026-11-16\.\.2026-11-20"):
        school_week(date(2026, 11, 25), 5, TZ, holiday=date(2026, 12, 24))


def test_timetables() -> None:
    tue = SimDay(date(2026, 11, 24), False)
    sat = SimDay(date(2026, 11, 28), False)
    hol = SimDay(date(2026, 11, 24), True)
    assert expected("school", "classroom", 9 * 60, tue) > 0
    assert expected("school", "classroom", 9 * 60 + 40, tue) == 0  # morning break
    assert expected("school", "toilet", 9 * 60 + 40, tue) > expected(
        "school", "toilet", 9 * 60, tue
    )
    assert expected("school", "classroom", 9 * 60, sat) == 0
    assert expected("school", "classroom", 9 * 60, hol) == 0
    assert expected("school", "classroom", 22 * 60, tue) == 0
    assert expected("daycare", "group_room", 7 * 60, tue) > 0
    assert expected("townhall", "office", 15 * 60, tue) > 0
    assert expected("townhall", "office", 15 * 60, SimDay(date(2026, 11, 27), False)) == 0


def _week_of_motion(room: Room, kind: str, seed: int) -> list[int]:
    u = RoomUsage(room, kind, seed, UsageConfig())
    day = SimDay(date(2026, 11, 24), False)
    start = datetime.combine(day.day, time(0), TZ)
    return [u.motion(start + timedelta(minutes=15 * i), 900, day) for i in range(96)]


def test_usage_is_seeded_and_rooms_differ() -> None:
    room = Room("b001-r01", "b001", "classroom", 50)
    assert _week_of_motion(room, "school", 1) == _week_of_motion(room, "school", 1)
    assert _week_of_motion(room, "school", 1) != _week_of_motion(room, "school", 2)
    classrooms = [
        sum(_week_of_motion(Room(f"c{i}", "b", "kitchen", 50), "school", 7)) for i in range(200)
    ]
    # About one kitchen in twelve stands empty all day (a false PIR trigger aside).
    assert 5 <= sum(1 for c in classrooms if c <= 2) <= 35


def test_toilets_take_a_beating() -> None:
    toilet = Room("t", "b", "toilet", 10)
    usages = [
        RoomUsage(Room(f"t{i}", "b", "toilet", 10), "school", 1, UsageConfig()) for i in range(200)
    ]
    factors = sorted(u.factor for u in usages if not u.empty)
    assert factors[len(factors) // 2] > 1.5
    assert sum(_week_of_motion(toilet, "school", 2)) > 0


def test_false_triggers_at_night_are_rare_but_present() -> None:
    rooms = [Room(f"r{i}", "b", "classroom", 50) for i in range(300)]
    night = sum(sum(_week_of_motion(r, "school", 3)[:24]) for r in rooms)
    assert 0 < night < 300 * 24 * 0.02


def _plan(m: Municipality) -> tuple[object, list[PlannedRoom]]:
    b = m.building("b001")
    return b, [PlannedRoom(r, 20.0) for r in b.rooms]


def test_cleaning_day_taps_in_order_and_trainee_with_buddy(small: Municipality) -> None:
    b, plan = _plan(small)
    taps, truths = work_shift(b, plan, SHIFT, seed=5)  # type: ignore[arg-type]
    assert taps == sorted(taps, key=lambda t: t.ms)
    assert taps == work_shift(b, plan, SHIFT, seed=5)[0]  # type: ignore[arg-type]
    assert {t.cleaner for t in taps} >= {"c1", "c2"}
    trainee_visits = [v for v in truths if v.cleaner == "c1" and v.outcome != "forgotten"]
    assert trainee_visits and all(v.buddy == "c2" for v in trainee_visits)
    start = datetime.fromtimestamp(taps[0].ms / 1000, TZ)
    assert start.hour >= 15


def test_every_kind_of_mistake_happens_at_its_rate(small: Municipality) -> None:
    b, plan = _plan(small)
    cfg = BehaviourConfig(forget_p=0.1, short_p=0.1, no_leave_tap_p=0.1, double_tap_p=0.1)
    outcomes: dict[str, int] = {}
    doubles = 0
    for i in range(60):
        _, truths = work_shift(b, plan, SHIFT, seed=i, config=cfg)  # type: ignore[arg-type]
        for v in truths:
            outcomes[v.outcome] = outcomes.get(v.outcome, 0) + 1
            doubles += v.double_tap
    total = sum(outcomes.values())
    for kind in ("forgotten", "short", "no_leave_tap"):
        assert 0.04 < outcomes[kind] / total < 0.2, (kind, outcomes)
    assert outcomes["done"] / total > 0.6
    assert 0.04 < doubles / total < 0.2
    short = [v for v in truths if v.outcome == "short"]
    assert all(v.end_ms - v.start_ms < 20 * 60_000 * 0.3 for v in short)


def test_faults_fall_on_the_first_school_day_and_are_seeded(small: Municipality) -> None:
    m = small
    cal = school_week(date(2026, 11, 28), 5, TZ)
    f = plant(m, cal, 11)
    assert f == plant(m, cal, 11)
    first = datetime.combine(cal.days[0].day, time(0), TZ).timestamp() * 1000
    assert first <= f.dead_from_ms < first + 86_400_000
    assert f.sensor_alive(f.dead_sensor, f.dead_from_ms - 1)
    assert not f.sensor_alive(f.dead_sensor, f.dead_from_ms)
    assert f.offline_to_ms - f.offline_from_ms == 3_600_000
    assert f.clone_building != f.offline_building
    # The battery crosses 2,400 mV within the first day and keeps falling.
    assert f.battery_mv(f.flat_battery, f.battery_from_ms, 3000) > 2400
    later = f.battery_mv(f.flat_battery, f.battery_from_ms + 12 * 3_600_000, 3000)
    assert later < 2400
    assert f.battery_mv("occ-other", f.battery_from_ms + 12 * 3_600_000, 3000) == 3000


def test_fault_taps_use_the_cleaning_of_the_day(small: Municipality) -> None:
    m = small
    cal = school_week(date(2026, 11, 28), 1, TZ)
    f = plant(m, cal, 11)
    b = m.building(f.offline_building)
    taps, _ = work_shift(b, [PlannedRoom(r, 25.0) for r in b.rooms], _at(cal.days[0].day), 11)
    by_b = {b.id: taps}
    station = f.offline_station(by_b)
    assert station is not None
    clone = f.clone_tap(by_b, m)
    assert clone is not None
    assert clone.station in {r.station for r in m.building(f.clone_building).rooms}


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def publish(self, device, channel, payload, qos=1, retain=False, on_acked=None) -> None:  # type: ignore[no-untyped-def]
        self.sent.append((device, channel))


def test_shared_link_off_the_air_needs_a_new_connection() -> None:
    link = SharedLink("nfc-a4cf12000001", _Recorder())
    link.open("will", b"offline", 0)
    link.deliver("need", b"{}")
    assert link.up() and link.inbox
    link.online = False
    # Down at once, not only at the next poll; what was on its way is lost.
    assert not link.up() and not link.inbox
    with pytest.raises(OSError, match="off the air"):
        link.publish("pletfri/v1/dev/nfc-a4cf12000001/tap", b"{}")
    link.online = True
    assert not link.up(), "back on the air, the device must connect again"
    link.open("will", b"offline", 0)
    link.publish("pletfri/v1/dev/nfc-a4cf12000001/tap", b"{}")
    assert link.carrier.sent == [("nfc-a4cf12000001", "tap")]  # type: ignore[attr-defined]
