"""The gateway's view of the registry: which building and room each device serves.

The backend owns the registry and exports this file (CSV with the header
``device,kind,building,room,room_type``); the gateway re-reads it when it changes,
so a new device is served without a restart.
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from pletfri_fw import contract

log = logging.getLogger(__name__)

COLUMNS = ("device", "kind", "building", "room", "room_type")


class RegistryFileError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Device:
    device: str
    kind: str
    building: str
    room: str
    room_type: str


def read_devices(path: Path) -> dict[str, Device]:
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            missing = set(COLUMNS) - set(reader.fieldnames or ())
            if missing:
                raise RegistryFileError(
                    f"{path}: header lacks {', '.join(sorted(missing))}; "
                    f"expected {','.join(COLUMNS)}"
                )
            devices: dict[str, Device] = {}
            for row in reader:
                d = Device(**{c: (row[c] or "").strip() for c in COLUMNS})
                if not contract.valid_device(d.device):
                    raise RegistryFileError(
                        f"{path} line {reader.line_num}: device id {d.device!r} does not "
                        f"match {contract.DEVICE_PATTERN}"
                    )
                devices[d.device] = d
            return devices
    except FileNotFoundError:
        raise RegistryFileError(
            f"registry file {path} does not exist; export it with "
            "`pletfri registry export-devices` or set gateway.registry_file"
        ) from None


class DeviceRegistry:
    """Devices by id, re-read when the file's modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._devices: dict[str, Device] = {}
        self.refresh()

    def refresh(self) -> None:
        """Re-read the file if it changed; a broken new version keeps the old one."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._stamp is None:
                raise RegistryFileError(
                    f"registry file {self.path} does not exist; export it with "
                    "`pletfri registry export-devices` or set gateway.registry_file"
                ) from None
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        try:
            self._devices = read_devices(self.path)
        except RegistryFileError as e:
            if self._stamp is None:
                raise
            log.error("keeping the previous registry: %s", e)
        self._stamp = stamp
        log.info("registry: %d devices from %s", len(self._devices), self.path)

    def get(self, device: str) -> Device | None:
        return self._devices.get(device)

    def __len__(self) -> int:
        return len(self._devices)
