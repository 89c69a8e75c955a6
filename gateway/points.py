"""Validated messages to InfluxDB line protocol (the measurements of CONTRACT.md)."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.registry import Device
from gateway.validate import Message
from pletfri.influx import line


def tap_lines(msg: Message, dev: Device, known: bool) -> list[str]:
    fields = {
        "card": msg.payload["card"],
        "boot": msg.boot,
        "seq": msg.seq,
        "clock_ok": msg.clock_ok,
    }
    if not known:
        # Only on cards missing from cards.csv (`WHERE known = false`), so alerts see them.
        fields["known"] = False
    return [
        line(
            "tap",
            {"building": dev.building, "room": dev.room, "device": msg.device},
            fields,
            msg.ts_ms,
        )
    ]


def occupancy_lines(msg: Message, dev: Device) -> list[str]:
    tags = {
        "building": dev.building,
        "room": dev.room,
        "room_type": dev.room_type,
        "device": msg.device,
    }
    return [
        line("occupancy", tags, {**r.fields, "clock_ok": r.clock_ok}, r.ts_ms) for r in msg.records
    ]


def _device_tags(dev: Device) -> dict[str, str]:
    return {"device": dev.device, "kind": dev.kind, "building": dev.building}


def heartbeat_lines(msg: Message, dev: Device) -> list[str]:
    if not msg.fields:
        # An empty heartbeat still says the device lives (liveness), but has no field to store.
        return []
    return [line("device", _device_tags(dev), {**msg.fields, "clock_ok": msg.clock_ok}, msg.ts_ms)]


def online_line(dev: Device, online: bool, ts_ms: int, reason: str) -> str:
    """`reason`: status (the device said so), timeout (missed its window), heard (back)."""
    return line("device", _device_tags(dev), {"online": int(online), "reason": reason}, ts_ms)


def gateway_line(name: str, fields: Mapping[str, int | float], ts_ms: int) -> str:
    return line("gateway", {"gateway": name}, fields, ts_ms)
