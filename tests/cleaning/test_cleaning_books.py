"""Verification counts and savings for one hand-made school day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from behelpers import CLEANER, DAY, TRAINEE, at, occupancy, taps

from backend.cleaning import plans
from backend.cleaning.visits import Visit, read_visits, visit_line
from backend.service import Backend


@pytest.fixture
def school_day(backend: Backend) -> Backend:
    yesterday = DAY - timedelta(days=1)
    backend.influx.write(
        visit_line(Visit("s", room, CLEANER, at("16:00", yesterday), at("16:30", yesterday)))
        for room in ("s-class1", "s-class2", "s-office")
    )
    occupancy(backend.influx, "s-class1", "08:00", "14:00", motion=25)
    [plan] = backend.make_plans(DAY, "afternoon", now_ms=at("15:00"), building="s")
    assert [e.room for e in plan.due] == ["s-wc", "s-class1"]
    taps(
        backend.influx,
        ("s-class1", CLEANER, "16:00"),
        ("s-class1", CLEANER, "16:20"),
        ("s-office", CLEANER, "16:30"),
        ("s-office", CLEANER, "16:35"),
        ("s-class2", CLEANER, "17:00"),
        ("s-class2", CLEANER, "17:02"),
        ("s-class1", TRAINEE, "17:30"),
    )
    backend.pair_visits(at("22:00"))
    return backend


def test_verification_counts(school_day: Backend) -> None:
    books = school_day.verify(DAY, now_ms=at("22:00"), building="s")["s"]
    assert (books.planned, books.done, books.missed, books.pending) == (2, 4, 1, 0)
    assert books.missed_rooms == ["s-wc"]
    assert sorted(books.unplanned_rooms) == ["s-class2", "s-office"]
    assert (books.too_short, books.short_rooms, books.no_leave_tap) == (1, ["s-class2"], 1)
    # No use since the previous visit: yesterday's for office and class2, 16:00 for class1.
    assert sorted(books.unneeded_rooms) == ["s-class1", "s-class2", "s-office"]
    visits = {v.room: v for v in read_visits(school_day.influx, at("15:00"), at("16:10"))}
    assert visits["s-class1"].planned


def test_verification_before_the_shift_ends_calls_them_pending(school_day: Backend) -> None:
    books = school_day.verify(DAY, now_ms=at("15:30"), building="s")["s"]
    assert (books.planned, books.done, books.missed, books.pending) == (2, 0, 0, 2)


def test_savings_against_the_fixed_schedule(school_day: Backend) -> None:
    s = school_day.savings(DAY, DAY, now_ms=at("22:00"), building="s")
    # Fixed (a Monday): 2 classrooms x 1 + toilet 10/5 + office 2/5 = 4.4 cleanings.
    assert (s.fixed_cleanings, s.done, s.avoided, s.planned) == (4.4, 4, 0.4, 2)
    # Minutes: 15 + 13.8 + 2 x 9.6 + 0.4 x 4 fixed; done 2 x 15 + 4 + 13.8.
    assert (s.fixed_minutes, s.done_minutes, s.minutes_saved) == (49.6, 47.8, 1.8)
    assert (s.due_not_cleaned, s.due_not_cleaned_rooms) == (1, ["s-wc"])


def test_daily_savings_points_per_building_add_up_to_the_total(school_day: Backend) -> None:
    whole = school_day.record_savings(DAY, DAY, now_ms=at("22:00"))
    assert whole == school_day.savings(DAY, DAY, now_ms=at("22:00"))
    rows = school_day.influx.query('SELECT * FROM "savings" GROUP BY "building"')
    s = next(r for r in rows if r["building"] == "s")
    assert (s["fixed_cleanings"], s["done"], s["avoided"], s["minutes_saved"]) == (4.4, 4, 0.4, 1.8)
    assert s["due_not_cleaned"] == 1
    assert len(rows) == len(school_day.registry.buildings())
    assert sum(r["done"] for r in rows) == whole.done


def test_a_room_without_a_station_is_planned_but_never_missed(backend: Backend) -> None:
    assert backend.registry.remove("devices", "nfc-000000000003")  # s-office's station
    [plan] = backend.make_plans(DAY, "afternoon", now_ms=at("15:00"), building="s")
    office = next(e for e in plan.due if e.room == "s-office")
    assert not office.station and office.reason == "hygiene_floor"
    books = backend.verify(DAY, now_ms=at("22:00"), building="s")["s"]
    assert (books.planned, books.missed, books.unverifiable) == (3, 3, 1)
    assert "s-office" not in books.missed_rooms and books.unverifiable_rooms == ["s-office"]
    due_rooms = {row[1] for row in plans.planned_between(backend.registry, 0, at("23:00"))}
    assert due_rooms == {"s-class1", "s-class2", "s-wc"}
    s = backend.savings(DAY, DAY, now_ms=at("22:00"), building="s")
    assert (s.done, s.unverified, s.due_not_cleaned) == (0, 1, 3)
    # Once its shift is over, the plan stands in for the visit nobody could record.
    tomorrow = DAY + timedelta(days=1)
    [plan] = backend.make_plans(tomorrow, "afternoon", now_ms=at("15:00", tomorrow), building="s")
    assert "s-office" in {e.room for e in plan.skip}
