"""Instants, device ids and point writers shared by the alert tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pletfri.influx import Influx, line

# Monday 23 November 2026, 10:00 in Copenhagen.
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)
MIN = 60_000
HOUR = 3_600_000

STATION = "nfc-a4cf12f0b3c1"
SENSOR = "occ-a4cf12f0b3c2"
STATION2 = "nfc-a4cf12f0b3d1"
CARD = "0123456789abcdef"


def write(
    influx: Influx, measurement: str, tags: dict[str, str], fields: dict[str, Any], ts: int
) -> None:
    influx.write([line(measurement, tags, fields, ts)])


def status(influx: Influx, device: str, online: bool, ts: int, building: str = "b001") -> None:
    kind = "station" if device.startswith("nfc") else "sensor"
    write(
        influx,
        "device",
        {"device": device, "kind": kind, "building": building},
        {"online": int(online)},
        ts,
    )


def heartbeat(influx: Influx, device: str, ts: int, building: str = "b001", **fields: int) -> None:
    kind = "station" if device.startswith("nfc") else "sensor"
    write(influx, "device", {"device": device, "kind": kind, "building": building}, fields, ts)


def tap(
    influx: Influx,
    card: str,
    ts: int,
    device: str = STATION,
    building: str = "b001",
    room: str = "b001-r101",
    clock_ok: bool = True,
) -> None:
    tags = {"building": building, "room": room, "device": device}
    write(
        influx, "tap", tags, {"card": card, "boot": 1, "seq": ts % 100000, "clock_ok": clock_ok}, ts
    )


def visit(
    influx: Influx,
    room: str,
    ts: int,
    duration_s: float,
    building: str = "b001",
    short: bool = False,
) -> None:
    fields = {"card": CARD, "duration_s": duration_s, "planned": True, "short": short}
    write(influx, "visit", {"building": building, "room": room}, fields, ts)


def occupancy(
    influx: Influx, ts: int, motion: int, device: str = SENSOR, clock_ok: bool = True
) -> None:
    tags = {"building": "b001", "room": "b001-r101", "room_type": "classroom", "device": device}
    write(influx, "occupancy", tags, {"period_s": 900, "motion": motion, "clock_ok": clock_ok}, ts)
