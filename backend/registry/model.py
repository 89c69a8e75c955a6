"""The registry's records, validated the same way from a file, the API or the sample generator.

Ids are the keys other parts use: building ``b001``, room ``b001-r001`` (unique in the whole
municipality, as alerts and dashboards key rooms by it alone), device ids per CONTRACT.md,
people by a pseudonymous id such as ``p0042``; a person's name and contact are stored only
for service leaders, who receive alerts.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pletfri_fw import contract

BuildingKind = Literal["school", "daycare", "townhall", "other"]
DeviceKind = Literal["station", "sensor", "sticker"]
Role = Literal["cleaner", "trainee", "buddy", "service_leader"]
Language = Literal["da", "en"]

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
CARD_PATTERN = rf"^[0-9a-f]{{{contract.CARD_HEX_LEN}}}$"
HOURS_PATTERN = r"^\d\d:\d\d-\d\d:\d\d$"
# The device id prefix each kind must carry (CONTRACT.md).
DEVICE_PREFIX = {
    "station": contract.KIND_STATION + "-",
    "sensor": contract.KIND_SENSOR + "-",
    # An NFC sticker: "tag-" and its 7-byte UID in lowercase hex (docs/stickers.md).
    "sticker": contract.KIND_TAG + "-",
}
STICKER_ID_PATTERN = rf"^{contract.KIND_TAG}-[0-9a-f]{{14}}$"


class Record(BaseModel):
    # An unknown column is a typo in the file, not something to drop in silence.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Building(Record):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    address: str = ""
    kind: BuildingKind
    training_track: bool = False


class Room(Record):
    id: str = Field(pattern=ID_PATTERN)
    building: str = Field(pattern=ID_PATTERN)
    name: str = ""
    type: str = Field(pattern=ID_PATTERN)
    area_m2: float = Field(gt=0, le=20000)
    floor: int = Field(0, ge=-5, le=100)
    zone: str = ""
    # The INSTA 800 quality level agreed in the contract for this room.
    quality_level: int = Field(3, ge=0, le=5)


class Device(Record):
    id: str = Field(pattern=contract.DEVICE_PATTERN)
    kind: DeviceKind
    room: str = Field(pattern=ID_PATTERN)
    installed: date | None = None

    @model_validator(mode="after")
    def _prefix_matches_kind(self) -> Device:
        prefix = DEVICE_PREFIX[self.kind]
        if not self.id.startswith(prefix):
            raise ValueError(f"a {self.kind} id starts with {prefix!r}, got {self.id!r}")
        if self.kind == "sticker" and not re.match(STICKER_ID_PATTERN, self.id):
            raise ValueError(
                f"a sticker id is 'tag-' and the tag's 7-byte UID as 14 lowercase hex "
                f"characters, e.g. tag-04de5f1eacc040; got {self.id!r}"
            )
        return self


class Person(Record):
    id: str = Field(pattern=ID_PATTERN)
    role: Role
    team: str = ""
    # Home building; a service leader's buildings are in `leaders`.
    building: str | None = None
    # A trainee's buddy (a person id).
    buddy: str | None = None
    name: str = ""
    email: str | None = None
    language: Language = "da"
    webhook: str | None = None
    quiet_hours: str | None = Field(None, pattern=HOURS_PATTERN)

    @field_validator("building", "buddy", "email", "webhook", "quiet_hours", mode="before")
    @classmethod
    def _blank_is_none(cls, v: object) -> object:
        # A CSV cell has no null: an empty cell means "not set".
        return None if v == "" else v


class Card(Record):
    card: str = Field(pattern=CARD_PATTERN)
    person: str = Field(pattern=ID_PATTERN)


class Leader(Record):
    building: str = Field(pattern=ID_PATTERN)
    person: str = Field(pattern=ID_PATTERN)


class RegistryData(BaseModel):
    """A whole registry, as imported or exported; `check` finds broken references."""

    buildings: list[Building] = []
    rooms: list[Room] = []
    devices: list[Device] = []
    people: list[Person] = []
    cards: list[Card] = []
    leaders: list[Leader] = []


# The sections of a registry file, in the order references need them.
SECTIONS: dict[str, type[Record]] = {
    "buildings": Building,
    "rooms": Room,
    "devices": Device,
    "people": Person,
    "cards": Card,
    "leaders": Leader,
}


PLURAL = {"building": "buildings", "room": "rooms", "person": "people"}


def reference_problems(
    data: RegistryData, existing: RegistryData | None = None
) -> list[tuple[str, int, str]]:
    """Broken references and duplicate ids, as (section, index in section, problem).

    References may also point at `existing` records (the registry a file is merged into).
    """
    out: list[tuple[str, int, str]] = []
    before = existing or RegistryData()

    def unique(section: str, keys: list[str]) -> set[str]:
        seen: set[str] = set()
        for i, key in enumerate(keys):
            if key in seen:
                out.append((section, i, f"{key!r} appears twice"))
            seen.add(key)
        return seen

    buildings = unique("buildings", [b.id for b in data.buildings])
    buildings |= {b.id for b in before.buildings}
    rooms = unique("rooms", [r.id for r in data.rooms]) | {r.id for r in before.rooms}
    unique("devices", [d.id for d in data.devices])
    people = unique("people", [p.id for p in data.people]) | {p.id for p in before.people}
    unique("cards", [c.card for c in data.cards])
    unique("leaders", [f"{x.building}/{x.person}" for x in data.leaders])
    roles = {p.id: p.role for p in before.people} | {p.id: p.role for p in data.people}

    def known(section: str, i: int, what: str, value: str | None, ids: set[str]) -> None:
        if value is not None and value not in ids:
            out.append((section, i, f"unknown {what} {value!r}: add it to {PLURAL[what]} first"))

    for i, r in enumerate(data.rooms):
        known("rooms", i, "building", r.building, buildings)
    for i, d in enumerate(data.devices):
        known("devices", i, "room", d.room, rooms)
    for i, p in enumerate(data.people):
        known("people", i, "building", p.building, buildings)
        known("people", i, "person", p.buddy, people)
    for i, c in enumerate(data.cards):
        known("cards", i, "person", c.person, people)
    for i, x in enumerate(data.leaders):
        known("leaders", i, "building", x.building, buildings)
        known("leaders", i, "person", x.person, people)
        if roles.get(x.person, "service_leader") != "service_leader":
            out.append(("leaders", i, f"{x.person!r} is a {roles[x.person]}, not a service_leader"))
    return out
