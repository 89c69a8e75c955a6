"""Fixtures for the simulator tests: a small hand-made municipality."""

from __future__ import annotations

import pytest

from sim.world import Building, Cleaner, Municipality, Room


@pytest.fixture
def small() -> Municipality:
    return small_municipality()


def small_municipality() -> Municipality:
    def rooms(b: str, types: list[str]) -> list[Room]:
        return [
            Room(f"{b}-r{i:02d}", b, t, 40.0 + 5 * i, i % 2, f"occ-{b}{i:02d}", f"nfc-{b}{i:02d}")
            for i, t in enumerate(types)
        ]

    school = Building("b001", "school", True, rooms("b001", ["classroom"] * 6 + ["toilet"] * 2))
    school.cleaners = [
        Cleaner("c1", "trainee", bytes.fromhex("04000001"), "b001", buddy="c2"),
        Cleaner("c2", "buddy", bytes.fromhex("04000002"), "b001"),
        Cleaner("c3", "cleaner", bytes.fromhex("04000003"), "b001"),
    ]
    daycare = Building(
        "b002", "daycare", False, rooms("b002", ["group_room", "sleeping", "toilet"])
    )
    daycare.cleaners = [Cleaner("c4", "cleaner", bytes.fromhex("04000004"), "b002")]
    town = Building(
        "b003", "townhall", False, rooms("b003", ["office"] * 4 + ["meeting", "toilet"])
    )
    town.cleaners = [Cleaner("c5", "cleaner", bytes.fromhex("04000005"), "b003")]
    return Municipality([school, daycare, town])
