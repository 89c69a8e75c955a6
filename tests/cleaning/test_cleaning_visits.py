"""Pairing taps into visits: the rules on plain data, then through the real InfluxDB."""

from __future__ import annotations

from behelpers import BUDDY, CLEANER, DAY, STRANGER, TRAINEE, at, taps

from backend.cleaning.visits import PairingRules, Tap, merge_buddies, pair, read_visits
from backend.service import Backend

RULES = PairingRules(timeout_ms=4 * 3600_000, double_tap_ms=60_000, buddy_window_ms=600_000)


def t(room: str, hhmm: str, card: str = CLEANER, seconds: int = 0) -> Tap:
    return Tap(at(hhmm) + seconds * 1000, "s", room, card)


def test_arrival_and_leaving_make_one_visit() -> None:
    closed, still_open = pair([t("s-wc", "16:00"), t("s-wc", "16:12")], RULES, at("17:00"))
    assert still_open == []
    assert [(v.room, v.duration_s, v.complete) for v in closed] == [("s-wc", 720, True)]


def test_double_taps_are_ignored_at_arrival_and_leaving() -> None:
    events = [
        t("s-wc", "16:00"),
        t("s-wc", "16:00", seconds=8),
        t("s-wc", "16:12"),
        t("s-wc", "16:12", seconds=3),
    ]
    closed, still_open = pair(events, RULES, at("17:00"))
    assert [(v.arrive_ms, v.duration_s) for v in closed] == [(at("16:00"), 720)]
    assert still_open == []


def test_missing_leaving_tap_closed_by_a_tap_elsewhere_or_the_timeout() -> None:
    events = [t("s-wc", "16:00"), t("s-class1", "16:20"), t("s-class1", "16:45")]
    closed, _ = pair(events, RULES, at("17:00"))
    assert [(v.room, v.complete) for v in closed] == [("s-wc", False), ("s-class1", True)]

    closed, still_open = pair([t("s-wc", "16:00")], RULES, at("19:00"))
    assert closed == [] and [v.room for v in still_open] == ["s-wc"]
    closed, still_open = pair([t("s-wc", "16:00")], RULES, at("20:01"))
    assert [(v.room, v.complete, v.duration_s) for v in closed] == [("s-wc", False, 0)]
    assert still_open == []


def test_a_second_tap_after_the_timeout_opens_a_new_visit() -> None:
    closed, still_open = pair([t("s-wc", "08:00"), t("s-wc", "13:00")], RULES, at("13:30"))
    assert [(v.arrive_ms, v.complete) for v in closed] == [(at("08:00"), False)]
    assert [v.arrive_ms for v in still_open] == [at("13:00")]


def test_trainee_and_buddy_make_one_buddy_visit() -> None:
    events = [
        t("s-class1", "16:00", TRAINEE),
        t("s-class1", "16:02", BUDDY),
        t("s-class1", "16:30", TRAINEE),
        t("s-class1", "16:31", BUDDY),
        t("s-wc", "16:40", TRAINEE),
        t("s-wc", "16:50", TRAINEE),
    ]
    closed, _ = pair(events, RULES, at("17:00"))
    roles = {TRAINEE: "trainee", BUDDY: "buddy"}
    merged = merge_buddies(closed, roles, RULES.buddy_window_ms)
    assert [(v.room, v.card, v.buddy) for v in merged] == [
        ("s-class1", TRAINEE, BUDDY),
        ("s-wc", TRAINEE, None),
    ]


def test_visits_are_written_and_read_back(backend: Backend) -> None:
    taps(
        backend.influx,
        ("s-wc", CLEANER, "16:00"),
        ("s-wc", CLEANER, "16:10"),
        ("s-class1", CLEANER, "16:15"),
        ("s-class1", CLEANER, "16:17"),  # 2 minutes for 60 m2: too short
        ("s-office", STRANGER, "16:20"),  # unknown card: no visit
        ("s-office", STRANGER, "16:30"),
        ("s-class2", TRAINEE, "16:20"),
        ("s-class2", BUDDY, "16:21"),
        ("s-class2", TRAINEE, "16:40"),
        ("s-class2", BUDDY, "16:41"),
    )
    made = backend.pair_visits(at("18:00"))
    again = backend.pair_visits(at("18:00"))
    assert made == again
    stored = read_visits(backend.influx, at("00:00"), at("23:59"))
    assert sorted((v.room, v.duration_s, v.short, v.buddy) for v in stored) == [
        ("s-class1", 120, True, None),
        ("s-class2", 1200, False, BUDDY),
        ("s-wc", 600, False, None),
    ]


def test_an_overnight_visit_pairs_across_midnight(backend: Backend) -> None:
    next_day = DAY.replace(day=DAY.day + 1)
    taps(
        backend.influx,
        ("s-wc", CLEANER, at("23:50")),
        ("s-wc", CLEANER, at("00:20", next_day)),
    )
    # A run that starts at midnight still sees the arrival before it and makes no visit of
    # the leaving tap alone; the run that covers the arrival makes the 30-minute visit.
    assert backend.pair_visits(at("06:00", next_day), since_ms=at("00:00", next_day)) == []
    made = backend.pair_visits(at("06:00", next_day), since_ms=at("12:00"))
    assert [(v.arrive_ms, v.duration_s) for v in made] == [(at("23:50"), 1800)]


def test_a_buddy_visit_is_written_once_the_pair_has_left(backend: Backend) -> None:
    taps(
        backend.influx,
        ("s-class2", BUDDY, "16:00"),
        ("s-class2", TRAINEE, "16:01"),
        ("s-class2", BUDDY, "16:25"),
    )
    # The trainee is still in the room: the buddy's visit waits for the pair.
    assert backend.pair_visits(at("16:30")) == []
    made = backend.pair_visits(at("21:00"))  # the trainee never tapped out
    assert [(v.card, v.buddy, v.arrive_ms, v.duration_s) for v in made] == [
        (TRAINEE, BUDDY, at("16:01"), 24 * 60)
    ]
    rows = backend.influx.query('SELECT "card", "buddy", "role" FROM "visit"')
    assert [(r["card"], r["buddy"], r["role"]) for r in rows] == [(TRAINEE, BUDDY, "trainee")]
