"""The gateway's view of the registry: devices to rooms, and which cards are known.

The backend owns the registry and exports two CSV files: ``devices.csv`` (header
``device,kind,building,room,room_type``) and ``cards.csv`` (header ``card,role``). The
gateway re-reads each when it changes, so a new device or card is served without a
restart; a broken new version is logged and the previous one kept.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from pletfri_fw import contract

log = logging.getLogger(__name__)

DEVICE_COLUMNS = ("device", "kind", "building", "room", "room_type")
CARD_COLUMNS = ("card", "role")
KINDS = ("station", "sensor", "sticker")
ROLES = ("cleaner", "trainee", "buddy", "service_leader")
EXPORT_HINT = "export it with `pletfri registry export-devices` or set gateway.{key}"

T = TypeVar("T")


class RegistryFileError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Device:
    device: str
    kind: str
    building: str
    room: str
    room_type: str


def _rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV file with their line numbers, after checking its header."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = set(columns) - set(reader.fieldnames or ())
        if missing:
            raise RegistryFileError(
                f"{path}: header lacks {', '.join(sorted(missing))}; expected {','.join(columns)}"
            )
        return [(reader.line_num, {c: (row[c] or "").strip() for c in columns}) for row in reader]


def read_devices(path: Path) -> dict[str, Device]:
    devices: dict[str, Device] = {}
    for line_num, row in _rows(path, DEVICE_COLUMNS):
        d = Device(**row)
        where = f"{path} line {line_num}"
        if not contract.valid_device(d.device):
            raise RegistryFileError(
                f"{where}: device id {d.device!r} does not match {contract.DEVICE_PATTERN}"
            )
        if d.kind not in KINDS:
            raise RegistryFileError(f"{where}: kind {d.kind!r} is not one of {', '.join(KINDS)}")
        devices[d.device] = d
    return devices


def read_cards(path: Path) -> dict[str, str]:
    cards: dict[str, str] = {}
    for line_num, row in _rows(path, CARD_COLUMNS):
        card, role = row["card"], row["role"]
        where = f"{path} line {line_num}"
        if len(card) != contract.CARD_HEX_LEN or not set(card) <= set("0123456789abcdef"):
            raise RegistryFileError(f"{where}: card {card!r} is not 16 lowercase hex characters")
        if role not in ROLES:
            raise RegistryFileError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
        cards[card] = role
    return cards


class WatchedFile(Generic[T]):
    """A file's parsed content, re-read when its modification time or size changes."""

    def __init__(
        self, path: Path, read: Callable[[Path], T], empty: T, key: str, required: bool
    ) -> None:
        self.path = path
        self._read = read
        self.data = empty
        self._key = key
        self._required = required
        self._stamp: tuple[int, int] | None = None
        self.present = False
        self.refresh()

    def refresh(self) -> bool:
        """Re-read if the file changed; True if the content was replaced."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._required and self._stamp is None:
                raise RegistryFileError(
                    f"registry file {self.path} does not exist; "
                    + EXPORT_HINT.format(key=self._key)
                ) from None
            if self._stamp != (0, 0):
                log.warning(
                    "%s does not exist (yet); %s", self.path, EXPORT_HINT.format(key=self._key)
                )
                self._stamp = (0, 0)
            return False
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return False
        try:
            data = self._read(self.path)
        except (RegistryFileError, OSError, UnicodeDecodeError, csv.Error) as e:
            if self._stamp is None and self._required:
                raise RegistryFileError(str(e)) from None
            log.error("keeping the previous content of %s: %s", self.path, e)
            self._stamp = stamp
            return False
        self._stamp = stamp
        self.data = data
        self.present = True
        log.info("read %d entries from %s", len(data), self.path)  # type: ignore[arg-type]
        return True


class Registry:
    """Devices by id and known cards, both from the backend's export files."""

    def __init__(self, devices_file: Path, cards_file: Path) -> None:
        self.devices = WatchedFile(devices_file, read_devices, {}, "registry_file", True)
        # Without a cards file every card counts as known: better than acking all as unknown.
        self.cards = WatchedFile(cards_file, read_cards, {}, "cards_file", False)

    def refresh(self) -> bool:
        """Re-read changed files; True if the device list changed."""
        self.cards.refresh()
        return self.devices.refresh()

    def device(self, device: str) -> Device | None:
        return self.devices.data.get(device)

    def card_known(self, card: str) -> bool:
        return not self.cards.present or card in self.cards.data
