"""A hand-made little registry and writers for occupancy and tap points, for the backend tests."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from backend.registry import Building, Card, Device, Leader, Person, RegistryData, Room
from pletfri.influx import Influx, line

if TYPE_CHECKING:
    from backend.service import Backend

TZ = ZoneInfo("Europe/Copenhagen")
# A Monday in a past school week.
DAY = date(2026, 11, 16)

CLEANER = "c1c1c1c1c1c1c1c1"
TRAINEE = "7777777777777777"
BUDDY = "bbbbbbbbbbbbbbbb"
STRANGER = "0000000000000000"


def at(hhmm: str, day: date = DAY) -> int:
    """Milliseconds of a local time on `day`."""
    h, m = hhmm.split(":")
    return int(datetime.combine(day, time(int(h), int(m)), TZ).timestamp() * 1000)


def registry_data() -> RegistryData:
    rooms = [
        Room(id="s-class1", building="s", type="classroom", area_m2=60, floor=1, zone="B"),
        Room(id="s-class2", building="s", type="classroom", area_m2=55, floor=0, zone="A"),
        Room(id="s-wc", building="s", type="toilet", area_m2=12, floor=0, zone="B"),
        Room(id="s-office", building="s", type="office", area_m2=20, floor=0, zone="A"),
        Room(id="d-group", building="d", type="group_room", area_m2=40),
    ]
    devices = []
    for i, r in enumerate(rooms):
        devices.append(Device(id=f"occ-00000000000{i}", kind="sensor", room=r.id))
        devices.append(Device(id=f"nfc-00000000000{i}", kind="station", room=r.id))
    return RegistryData(
        buildings=[
            Building(id="s", name="Bakkehøj Skole", kind="school", training_track=True),
            Building(id="d", name="Børnehuset Regnbuen", kind="daycare"),
        ],
        rooms=rooms,
        devices=devices,
        people=[
            Person(id="p1", role="cleaner", building="s"),
            Person(id="p2", role="buddy", building="s"),
            Person(id="p3", role="trainee", building="s", buddy="p2"),
            Person(id="p9", role="service_leader", name="Anne Jensen", email="a@x.example"),
        ],
        cards=[
            Card(card=CLEANER, person="p1"),
            Card(card=BUDDY, person="p2"),
            Card(card=TRAINEE, person="p3"),
        ],
        leaders=[Leader(building="s", person="p9"), Leader(building="d", person="p9")],
    )


BUILDING_OF = {r.id: r.building for r in registry_data().rooms}
TYPE_OF = {r.id: r.type for r in registry_data().rooms}


def occupancy(
    influx: Influx, room: str, start: str, end: str, motion: int, day: date = DAY
) -> None:
    """`motion` PIR triggers in each 15-minute period from start to end (local times)."""
    t, stop = at(start, day), at(end, day)
    lines = []
    while t < stop:
        t += 900_000
        lines.append(
            line(
                "occupancy",
                {"building": BUILDING_OF[room], "room": room, "room_type": TYPE_OF[room],
                 "device": "occ-x"},
                {"period_s": 900, "motion": motion, "clock_ok": True},
                t,
            )
        )  # fmt: skip
    influx.write(lines)


def taps(influx: Influx, *events: tuple[str, str, str | int]) -> None:
    """Taps as (room, card, local "HH:MM" or ms)."""
    influx.write(
        line(
            "tap",
            {"building": BUILDING_OF[room], "room": room, "device": "nfc-x"},
            {"card": card, "boot": 1, "seq": i, "clock_ok": True},
            when if isinstance(when, int) else at(when),
        )
        for i, (room, card, when) in enumerate(events)
    )


def two_planned_days(backend: Backend) -> None:
    """Monday and Tuesday planned after a used classroom; Monday's taps only: a trainee with
    a buddy in the classroom, a cleaner in the toilet (Tuesday is not cleaned at all)."""
    occupancy(backend.influx, "s-class1", "08:00", "14:00", motion=25)
    for day in (DAY, DAY + timedelta(days=1)):
        backend.make_plans(day, "afternoon", at("15:00", day))
    taps(
        backend.influx,
        ("s-class1", TRAINEE, "16:00"),
        ("s-class1", BUDDY, "16:01"),
        ("s-class1", TRAINEE, "16:40"),
        ("s-class1", BUDDY, "16:41"),
        ("s-wc", CLEANER, "17:00"),
        ("s-wc", CLEANER, "17:15"),
    )
