"""The two files the gateway reads (gateway/registry.py): devices.csv and cards.csv.

Each is written to a temporary file and renamed into place, so the gateway, which re-reads
them when they change, never sees half a file.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from backend.registry.repository import Registry

DEVICE_COLUMNS = ("device", "kind", "building", "room", "room_type")
CARD_COLUMNS = ("card", "role")


def _write_atomic(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    os.replace(tmp, path)


def export_gateway_files(registry: Registry, devices_csv: Path, cards_csv: Path) -> tuple[int, int]:
    """Write devices.csv and cards.csv; return how many devices and cards were written."""
    devices = [
        (d.device, d.kind, d.building, d.room, d.room_type) for d in registry.placed_devices()
    ]
    roles = {p.id: p.role for p in registry.people()}
    cards = [(c.card, roles[c.person]) for c in registry.cards()]
    _write_atomic(devices_csv, DEVICE_COLUMNS, devices)
    _write_atomic(cards_csv, CARD_COLUMNS, cards)
    return len(devices), len(cards)
