"""Incremental newest-per-device reads give what a full read would (backend/alerts/newest.py)."""

from __future__ import annotations

import random

from backend.alerts.newest import Newest

HOUR = 3_600_000


def test_incremental_equals_a_full_read_at_every_step() -> None:
    rng = random.Random(7)
    stored: list[tuple[str, int]] = []  # (device, time), as InfluxDB holds them

    def read(since: int, until: int) -> dict[str, int]:
        newest: dict[str, int] = {}
        for device, t in stored:
            if since <= t <= until:
                newest[device] = max(newest.get(device, t), t)
        return newest

    reads: list[tuple[int, int]] = []

    def counted(since: int, until: int) -> dict[str, int]:
        reads.append((since, until))
        return read(since, until)

    view = Newest(counted, lambda t: t, lookback_ms=26 * HOUR, late_ms=2 * HOUR)
    now = 100 * HOUR
    for _ in range(200):
        now += rng.choice((15, 30, 60)) * 60_000
        for device in (f"occ-{i:012x}" for i in range(20)):
            if device != "occ-000000000003" or now < 120 * HOUR:  # one dies
                # Periods arrive up to an hour after they end (the sensor's next wake).
                stored.append((device, now - rng.randrange(0, HOUR)))
        assert view.at(now) == read(now - 26 * HOUR, now)
    assert all(until - since < 4 * HOUR for since, until in reads[1:])
    # The dead sensor is forgotten once it is older than the lookback, as in a full read.
    assert "occ-000000000003" not in view.at(now)


def test_time_going_back_reads_everything_again() -> None:
    calls: list[tuple[int, int]] = []

    def read(since: int, until: int) -> dict[str, int]:
        calls.append((since, until))
        return {}

    view = Newest(read, lambda t: t, lookback_ms=26 * HOUR, late_ms=2 * HOUR)
    view.at(100 * HOUR)
    view.at(101 * HOUR)
    view.at(50 * HOUR)  # a new simulated week from the past
    view.at(200 * HOUR)  # a long pause
    assert calls == [
        (74 * HOUR, 100 * HOUR),
        (98 * HOUR, 101 * HOUR),
        (24 * HOUR, 50 * HOUR),
        (174 * HOUR, 200 * HOUR),
    ]
