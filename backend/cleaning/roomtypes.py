"""Room types and what the planner needs to know about each, with defaults an operator changes.

Per type: the fixed schedule (cleanings per week, the baseline that demand-based cleaning is
compared with), the hygiene floor (most days between cleanings, whatever the sensors say),
the usage signals and their weights (the need score is weight x usage since the last verified
cleaning; the room is due at ``backend.need_threshold``), cleaning minutes per m2, and the
shifts in which the type is cleaned.

An operator overrides any of these in a TOML or YAML file (``backend.room_types_file``)::

    [toilet]
    hygiene_floor_days = 1
    signals = { entries = 0.025, motion = 0.0067 }

A type that is not a default may be added there with all its fields.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

Signal = Literal["motion", "presence_s", "entries"]


class RoomType(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fixed_per_week: float = Field(ge=0, le=70)
    hygiene_floor_days: float = Field(gt=0, le=365)
    # Weight per unit of each signal, in order of preference: the first signal the room's
    # sensor reported in the window is used, so a PIR-only sensor still scores a room whose
    # preferred signal is presence time.
    signals: dict[Signal, float] = Field(min_length=1)
    minutes_per_m2: float = Field(gt=0, le=10)
    shifts: list[str] = ["afternoon"]

    def minutes(self, area_m2: float) -> float:
        """Estimated minutes to clean a room of this type; never under two minutes."""
        return round(max(2.0, area_m2 * self.minutes_per_m2), 1)


def _t(
    per_week: float, floor: float, signals: dict[str, float], mpm: float, **kw: object
) -> RoomType:
    return RoomType(
        fixed_per_week=per_week,
        hygiene_floor_days=floor,
        signals=signals,  # type: ignore[arg-type]
        minutes_per_m2=mpm,
        **kw,  # type: ignore[arg-type]
    )


# Weights: a day of ordinary use makes a room due (score 1); see docs/backend.md for the
# usage these were calibrated on (PIR triggers per 15 minutes in a school day).
DEFAULTS: dict[str, RoomType] = {
    "classroom": _t(5, 7, {"presence_s": 1 / 14400, "motion": 1 / 300}, 0.25),
    "toilet": _t(10, 1, {"entries": 1 / 40, "motion": 1 / 150}, 0.8,
                 shifts=["midday", "afternoon"]),
    "office": _t(2, 7, {"presence_s": 1 / 18000, "motion": 1 / 400}, 0.2),
    "meeting": _t(3, 7, {"presence_s": 1 / 10800, "motion": 1 / 150}, 0.2),
    "corridor": _t(5, 3, {"entries": 1 / 400, "motion": 1 / 400}, 0.12),
    "kitchen": _t(5, 1, {"motion": 1 / 100}, 0.5, shifts=["midday", "afternoon"]),
    "gym": _t(5, 3, {"entries": 1 / 60, "motion": 1 / 300}, 0.15),
    "group_room": _t(5, 2, {"presence_s": 1 / 14400, "motion": 1 / 300}, 0.3),
    "sleeping": _t(3, 3, {"presence_s": 1 / 14400, "motion": 1 / 60}, 0.2),
}  # fmt: skip


class RoomTypeError(Exception):
    pass


def load(path: Path | None) -> dict[str, RoomType]:
    """The defaults, with the overrides from `path` (TOML or YAML) applied field by field."""
    types = dict(DEFAULTS)
    if path is None:
        return types
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text) or {}
    except OSError as e:
        raise RoomTypeError(f"room types file {path}: cannot read: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        raise RoomTypeError(f"room types file {path} is not valid: {e}") from None
    if not isinstance(raw, dict):
        raise RoomTypeError(f"room types file {path}: expected a table per room type")
    for name, fields in raw.items():
        if not isinstance(fields, dict):
            raise RoomTypeError(f"room types file {path}: [{name}] must be a table of fields")
        base = types[name].model_dump() if name in types else {}
        try:
            types[name] = RoomType.model_validate({**base, **fields})
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors()
            )
            hint = "" if name in types else " (a new type needs every field)"
            raise RoomTypeError(f"room types file {path}: [{name}]{hint}: {problems}") from None
    return types
