"""Check each MQTT message against shared/CONTRACT.md and turn it into plain data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pletfri_fw import contract

# Before this, a device's clock cannot have been synced (the ESP32 counts from 2000).
MIN_TS_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
MAX_FUTURE_MS = 10 * 60 * 1000


class Rejected(Exception):
    """The message breaks the contract; `reason` is a short stable code for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Message:
    device: str
    channel: str
    payload: dict[str, Any]
    boot: int
    seq: int
    ts_ms: int
    clock_ok: bool


def _int(payload: dict[str, Any], key: str, lo: int, hi: int) -> int:
    v = payload.get(key)
    if not isinstance(v, int) or isinstance(v, bool):
        raise Rejected("bad_type", f"{key} must be an integer, got {v!r:.40}")
    if not lo <= v <= hi:
        raise Rejected("out_of_range", f"{key}={v} outside {lo}..{hi}")
    return v


def event_time(ts: Any, now_ms: int) -> tuple[int, bool]:
    """The point's time and whether the device's clock gave it."""
    if ts is None:
        return now_ms, False
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise Rejected("bad_type", f"ts must be an integer (ms since epoch), got {ts!r:.40}")
    if ts < MIN_TS_MS or ts > now_ms + MAX_FUTURE_MS:
        return now_ms, False
    return ts, True


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
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Rejected("bad_json", str(e)) from None
    if not isinstance(payload, dict):
        raise Rejected("bad_json", "payload must be a JSON object")
    if payload.get("v") != contract.VERSION:
        raise Rejected("bad_version", f"v must be {contract.VERSION}, got {payload.get('v')!r:.20}")
    boot = _int(payload, "boot", 0, 2**31 - 1)
    seq = _int(payload, "seq", 0, 2**31 - 1)
    ts_ms, clock_ok = event_time(payload.get("ts"), now_ms)
    if channel == contract.TAP:
        card = payload.get("card")
        if not (
            isinstance(card, str)
            and len(card) == contract.CARD_HEX_LEN
            and all(c in "0123456789abcdef" for c in card)
        ):
            raise Rejected(
                "bad_card", f"card must be 16 lowercase hex characters, got {card!r:.40}"
            )
    return Message(device, channel, payload, boot, seq, ts_ms, clock_ok)
