"""Check each MQTT message against shared/CONTRACT.md and turn it into plain data.

Every check raises `Rejected` with a short stable reason (counted per reason) and a
detail that says what was wrong; nothing here raises anything else for any input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson

from pletfri_fw import contract

# Before this, a device's clock cannot have been synced (the ESP32 counts from 2000).
MIN_TS_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
MAX_FUTURE_MS = 10 * 60 * 1000
MAX_INT = 2**31 - 1
HEX = frozenset("0123456789abcdef")
# Heartbeat members: (lowest, highest) for integers; None for free text.
HEARTBEAT_RANGES: dict[str, tuple[int, int] | None] = {
    "batt_mv": (0, 10_000),
    "rssi": (-200, 0),
    "fw": None,
    "uptime_s": (0, MAX_INT),
    "queue": (0, MAX_INT),
    "mem_free": (0, MAX_INT),
    "reset": None,
    # Events a full offline queue discarded (firmware's additive member, docs/firmware.md).
    "dropped": (0, MAX_INT),
}
TEXT_MAX = 64
# Digits enough to leave 64-bit integers (orjson's exact range): every digit maps to "0"
# (bytes.translate, several times cheaper than a regular expression here).
DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
LONG_NUMBER = b"0" * 19


class Rejected(Exception):
    """The message breaks the contract; `reason` is a short stable code for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Record:
    """One occupancy period, dated."""

    ts_ms: int
    clock_ok: bool
    fields: dict[str, int]


@dataclass(slots=True)
class Message:
    device: str
    channel: str
    payload: dict[str, Any]
    boot: int
    seq: int
    ts_ms: int
    clock_ok: bool
    # Occupancy: one record per period. Heartbeat: the health members that were sent.
    records: list[Record] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def has_id(self) -> bool:
        """Whether (device, boot, seq) identifies it: every channel but the plain-text status."""
        return self.channel != contract.STATUS


def _int(obj: dict[str, Any], key: str, lo: int, hi: int, where: str = "") -> int:
    v = obj.get(key)
    if type(v) is int and lo <= v <= hi:  # the common case first (bool is not int here)
        return v
    if not isinstance(v, int) or isinstance(v, bool):
        raise Rejected("bad_type", f"{where}{key} must be an integer, got {v!r:.40}")
    if not lo <= v <= hi:
        raise Rejected("out_of_range", f"{where}{key}={v} outside {lo}..{hi}")
    return v


def event_time(ts: Any, now_ms: int, where: str = "") -> tuple[int, bool]:
    """The point's time and whether the device's clock gave it (receive time if not)."""
    if type(ts) is int and MIN_TS_MS <= ts <= now_ms + MAX_FUTURE_MS:
        return ts, True
    if ts is None:
        return now_ms, False
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise Rejected("bad_type", f"{where}ts must be an integer (ms since epoch), got {ts!r:.40}")
    if ts < MIN_TS_MS or ts > now_ms + MAX_FUTURE_MS:
        return now_ms, False
    return ts, True


def _card(payload: dict[str, Any]) -> None:
    card = payload.get("card")
    if not (isinstance(card, str) and len(card) == contract.CARD_HEX_LEN and HEX.issuperset(card)):
        raise Rejected("bad_card", f"card must be 16 lowercase hex characters, got {card!r:.40}")
    # Additive (docs/security.md, site-key rotation): the card under the previous site key.
    prev = payload.get("card_prev")
    if prev is not None and not (
        isinstance(prev, str) and len(prev) == contract.CARD_HEX_LEN and HEX.issuperset(prev)
    ):
        raise Rejected(
            "bad_card", f"card_prev must be 16 lowercase hex characters, got {prev!r:.40}"
        )


def _records(payload: dict[str, Any], now_ms: int) -> list[Record]:
    periods = payload.get("periods")
    if not isinstance(periods, list):
        raise Rejected("bad_type", f"periods must be a list, got {periods!r:.40}")
    if not contract.PERIODS_MIN <= len(periods) <= contract.PERIODS_MAX:
        raise Rejected(
            "out_of_range",
            f"periods has {len(periods)} records; "
            f"{contract.PERIODS_MIN}..{contract.PERIODS_MAX} allowed",
        )
    records: list[Record] = []
    # Undated records count back from the receive time, newest first (CONTRACT.md).
    later_s = 0
    latest = now_ms + MAX_FUTURE_MS
    for i in range(len(periods) - 1, -1, -1):
        rec = periods[i]
        if not isinstance(rec, dict):
            raise Rejected("bad_type", f"periods[{i}] must be an object, got {rec!r:.40}")
        # Each check's common case inline; `_int` and `event_time` (which name the record
        # in their detail) only when that case does not hold.
        period_s = rec.get("period_s")
        if not (
            type(period_s) is int and contract.PERIOD_S_MIN <= period_s <= contract.PERIOD_S_MAX
        ):
            period_s = _int(
                rec, "period_s", contract.PERIOD_S_MIN, contract.PERIOD_S_MAX, f"periods[{i}]."
            )
        fields = {"period_s": period_s}
        for key in contract.COUNT_FIELDS:
            v = rec.get(key)
            if v is None:
                if key in rec:
                    raise Rejected("bad_type", f"periods[{i}].{key} must be an integer, got None")
                continue
            hi = period_s if key == "presence_s" else MAX_INT
            fields[key] = (
                v if type(v) is int and 0 <= v <= hi else _int(rec, key, 0, hi, f"periods[{i}].")
            )
        if len(fields) == 1:
            raise Rejected(
                "missing_member",
                f"periods[{i}] has none of {', '.join(contract.COUNT_FIELDS)}",
            )
        ts = rec.get("ts")
        if type(ts) is int and MIN_TS_MS <= ts <= latest:
            records.append(Record(ts, True, fields))
        else:
            ts, clock_ok = event_time(ts, now_ms, f"periods[{i}].")
            if not clock_ok:
                ts = now_ms - later_s * 1000
            records.append(Record(ts, clock_ok, fields))
        later_s += period_s
    records.reverse()
    return records


def _heartbeat(payload: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, rng in HEARTBEAT_RANGES.items():
        if key not in payload:
            continue
        if rng is not None:
            fields[key] = _int(payload, key, *rng)
            continue
        v = payload[key]
        # Firmware versions and reset causes arrive as text or numbers; stored as text so
        # the InfluxDB field keeps one type.
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise Rejected("bad_type", f"{key} must be text or a number, got {v!r:.40}")
        text = str(v)
        if len(text) > TEXT_MAX:
            raise Rejected("out_of_range", f"{key} longer than {TEXT_MAX} characters")
        fields[key] = text
    return fields


def _loads(raw: bytes) -> Any:
    # orjson is several times faster on the hot path, but it refuses some JSON that
    # Python's json takes (NaN, lone surrogates, ...) and reads integers beyond 64 bits as
    # floats. Those payloads (any run of 19+ digits) go to json, so every message gets
    # the same verdict and detail as with json alone (checked against json by fuzzing).
    if LONG_NUMBER not in raw.translate(DIGITS_AS_ZERO):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw)


def parse(topic: str, raw: bytes, now_ms: int) -> Message:
    parts = contract.parse_topic(topic)
    if parts is None:
        raise Rejected("bad_topic", f"{topic!r:.80} is not pletfri/v1/dev/<device>/<channel>")
    device, channel = parts
    if not contract.valid_device(device):
        raise Rejected("bad_device", f"device id {device!r:.40} breaks {contract.DEVICE_PATTERN}")
    if channel not in contract.UPLINK:
        raise Rejected("bad_channel", f"channel {channel!r:.20} is not one devices send")
    if len(raw) > contract.MAX_PAYLOAD:
        raise Rejected("too_large", f"{len(raw)} bytes > {contract.MAX_PAYLOAD}")
    if channel == contract.STATUS:
        text = raw.decode("utf-8", "replace")
        if text not in (contract.STATUS_ONLINE, contract.STATUS_OFFLINE):
            raise Rejected("bad_status", f"status must be online or offline, got {text!r:.40}")
        return Message(device, channel, {"status": text}, 0, 0, now_ms, False)
    try:
        payload = _loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise Rejected("bad_json", str(e)[:120]) from None
    if not isinstance(payload, dict):
        raise Rejected("bad_json", "payload must be a JSON object")
    if payload.get("v") != contract.VERSION:
        raise Rejected("bad_version", f"v must be {contract.VERSION}, got {payload.get('v')!r:.20}")
    boot = _int(payload, "boot", 0, MAX_INT)
    seq = _int(payload, "seq", 0, MAX_INT)
    ts_ms, clock_ok = event_time(payload.get("ts"), now_ms)
    msg = Message(device, channel, payload, boot, seq, ts_ms, clock_ok)
    if channel == contract.TAP:
        _card(payload)
    elif channel == contract.OCCUPANCY:
        msg.records = _records(payload, now_ms)
    else:
        msg.fields = _heartbeat(payload)
    return msg
