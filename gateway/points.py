"""Validated messages to InfluxDB line protocol (the measurements of CONTRACT.md)."""

from __future__ import annotations

from gateway.registry import Device
from gateway.validate import Message
from pletfri.influx import line


def tap_lines(msg: Message, dev: Device) -> list[str]:
    return [
        line(
            "tap",
            {"building": dev.building, "room": dev.room, "device": msg.device},
            {
                "card": msg.payload["card"],
                "boot": msg.boot,
                "seq": msg.seq,
                "clock_ok": msg.clock_ok,
            },
            msg.ts_ms,
        )
    ]
