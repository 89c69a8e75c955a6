"""Stickers in the registry: bound to rooms like devices, and the rooms still without proof."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backend.registry import Device, Registry, RegistryData, RegistryError
from backend.stickers import sun
from pletfri_fw import contract

# Device kinds whose taps prove a cleaning.
CHECK_IN_KINDS = ("station", "sticker")


@dataclass(frozen=True, slots=True)
class Sticker:
    device: str
    building: str
    room: str
    room_name: str

    @property
    def uid(self) -> bytes:
        return bytes.fromhex(self.device.removeprefix(contract.KIND_TAG + "-"))


def parse_uid(text: str) -> bytes:
    """A tag's UID as an installer types it: 14 hex digits, with or without separators."""
    clean = text.strip().replace(":", "").replace(" ", "").replace("-", "")
    try:
        uid = bytes.fromhex(clean) if len(clean) == 2 * sun.UID_LEN else b""
    except ValueError:
        uid = b""
    if not uid:
        raise RegistryError(
            f"UID {text!r} is not 14 hex digits; an NTAG 424 DNA's UID has 7 bytes, "
            "e.g. 04DE5F1EACC040 (NXP TagInfo shows it as 04:DE:5F:1E:AC:C0:40)"
        )
    if uid[0] != 0x04:
        raise RegistryError(
            f"UID {text!r} does not start with 04 (NXP's manufacturer code): is this an "
            "NTAG 424 DNA, and not a random ID from a phone?"
        )
    return uid


def bind(
    registry: Registry, room: str, uid: bytes, installed: date | None, move: bool = False
) -> Device:
    """Bind the sticker with `uid` to `room`; refuse to move a bound one without `move`."""
    if registry.room(room) is None:
        raise RegistryError(f"unknown room {room!r}: see `pletfri sticker missing` for rooms")
    device = f"{contract.KIND_TAG}-{uid.hex()}"
    rows = registry.query("SELECT room, kind FROM devices WHERE id = ?", (device,))
    if rows and rows[0]["room"] != room and not move:
        raise RegistryError(
            f"sticker {device} is bound to room {rows[0]['room']}; add --move to move it"
        )
    record = Device(id=device, kind="sticker", room=room, installed=installed)
    registry.merge(RegistryData(devices=[record]))
    return record


def stickers(
    registry: Registry, building: str | None = None, room: str | None = None
) -> list[Sticker]:
    sql = (
        "SELECT d.id, r.building, r.id, r.name FROM devices d JOIN rooms r ON r.id = d.room "
        "WHERE d.kind = 'sticker'"
    )
    args: list[str] = []
    if building is not None:
        sql += " AND r.building = ?"
        args.append(building)
    if room is not None:
        sql += " AND r.id = ?"
        args.append(room)
    return [Sticker(*row) for row in registry.query(sql + " ORDER BY r.id, d.id", tuple(args))]


def rooms_without_check_in(registry: Registry, building: str | None = None) -> list[str]:
    """Rooms with neither a station nor a sticker: their cleaning cannot be verified."""
    sql = (
        "SELECT r.id FROM rooms r WHERE NOT EXISTS (SELECT 1 FROM devices d "
        "WHERE d.room = r.id AND d.kind IN ('station', 'sticker'))"
    )
    if building is not None:
        return [row[0] for row in registry.query(sql + " AND r.building = ? ORDER BY 1",
                                                 (building,))]
    return [row[0] for row in registry.query(sql + " ORDER BY 1")]


def check_in_rooms(registry: Registry) -> set[str]:
    """Rooms with a station or a sticker: their cleaning can be verified."""
    return {d.room for d in registry.placed_devices() if d.kind in CHECK_IN_KINDS}
