"""Dashboards as files: dashboards/json/*.json, regenerated from dashboards/definitions.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dashboards.definitions import all_dashboards

JSON_DIR = Path(__file__).resolve().parent / "json"


def render(d: dict[str, Any]) -> str:
    return json.dumps(d, indent=2, sort_keys=True) + "\n"


def write_all(folder: Path = JSON_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for d in all_dashboards():
        path = folder / f"{d['uid']}.json"
        path.write_text(render(d))
        written.append(path)
    return written


def read_all(folder: Path = JSON_DIR) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
