"""Validated messages to InfluxDB line protocol (the measurements of CONTRACT.md).

A device's tags never change between registry reloads, so the escaped
"measurement,tags" part of its lines is made once by `pletfri.influx.line` and cached
(`_head`); only fields and time are formatted per point.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from gateway.registry import Device
from gateway.validate import Message
from pletfri.influx import line


@lru_cache(maxsize=65536)
def _head(measurement: str, tags: tuple[tuple[str, str], ...]) -> str:
    probe = line(measurement, dict(tags), {"x": 0}, 0)
    return probe[: -len(" x=0i 0")]


def _value(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return f"{v}i"
    if isinstance(v, float):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _line(measurement: str, tags: dict[str, str], fields: Mapping[str, Any], ts_ms: int) -> str:
    # The hot path: field keys are this module's own identifiers (nothing to escape);
    # values are formatted as pletfri.influx.line does, which test_gw_logic checks.
    body = ",".join(f"{k}={_value(v)}" for k, v in fields.items())
    return f"{_head(measurement, tuple(tags.items()))} {body} {ts_ms}"


def tap_lines(msg: Message, dev: Device, known: bool) -> list[str]:
    fields = {
        "card": msg.payload["card"],
        "boot": msg.boot,
        "seq": msg.seq,
        "clock_ok": msg.clock_ok,
    }
    if "card_prev" in msg.payload:
        # Pairs (card, card_prev) teach the backend a rotated card's new pseudonym.
        fields["card_prev"] = msg.payload["card_prev"]
    if not known:
        # Only on cards missing from cards.csv (`WHERE known = false`), so alerts see them.
        fields["known"] = False
    return [
        _line(
            "tap",
            {"building": dev.building, "room": dev.room, "device": msg.device},
            fields,
            msg.ts_ms,
        )
    ]


def occupancy_lines(msg: Message, dev: Device) -> list[str]:
    head = _head(
        "occupancy",
        (
            ("building", dev.building),
            ("room", dev.room),
            ("room_type", dev.room_type),
            ("device", msg.device),
        ),
    )
    # The bulk of all points: every field is a validated int, so format them directly.
    return [
        f"{head} {','.join([f'{k}={v}i' for k, v in r.fields.items()])},"
        f"clock_ok={'true' if r.clock_ok else 'false'} {r.ts_ms}"
        for r in msg.records
    ]


def _device_tags(dev: Device) -> dict[str, str]:
    return {"device": dev.device, "kind": dev.kind, "building": dev.building}


def heartbeat_lines(msg: Message, dev: Device) -> list[str]:
    if not msg.fields:
        # An empty heartbeat still says the device lives (liveness), but has no field to store.
        return []
    return [_line("device", _device_tags(dev), {**msg.fields, "clock_ok": msg.clock_ok}, msg.ts_ms)]


def online_line(dev: Device, online: bool, ts_ms: int, reason: str) -> str:
    """`reason`: status (the device said so), timeout (missed its window), heard (back)."""
    return _line("device", _device_tags(dev), {"online": int(online), "reason": reason}, ts_ms)


def gateway_line(name: str, fields: Mapping[str, int | float], ts_ms: int) -> str:
    return _line("gateway", {"gateway": name}, fields, ts_ms)
