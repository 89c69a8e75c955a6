"""A little registry with logins, and a client that logs in and fills forms like a browser."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from backend.registry import Building, Card, Device, Leader, Person, RegistryData, Room
from pletfri.influx import Influx, line

PASSWORD = "correct horse battery"
CARD = "c1c1c1c1c1c1c1c1"
OTHER_CARD = "d2d2d2d2d2d2d2d2"


def registry_data() -> RegistryData:
    rooms = [
        Room(id="s-class1", building="s", name="Klasse 1A", type="classroom", area_m2=60, floor=1),
        Room(id="s-class2", building="s", name="Klasse 2B", type="classroom", area_m2=55),
        Room(id="s-wc", building="s", name="Toilet", type="toilet", area_m2=12),
        Room(id="s-office", building="s", name="Kontor", type="office", area_m2=20),
        Room(id="d-group", building="d", name="Gruppe", type="group_room", area_m2=40),
        Room(id="x-hall", building="x", name="Hal", type="office", area_m2=40),
    ]
    devices = [
        Device(id=f"nfc-00000000000{i}", kind="station", room=r.id) for i, r in enumerate(rooms)
    ]
    return RegistryData(
        buildings=[
            Building(id="s", name="Bakkehøj Skole", kind="school", training_track=True),
            Building(id="d", name="Børnehuset Regnbuen", kind="daycare"),
            Building(id="x", name="Rådhuset", kind="townhall"),
        ],
        rooms=rooms,
        devices=devices,
        people=[
            Person(id="p1", role="cleaner", building="s"),
            Person(id="p2", role="buddy", building="s"),
            Person(id="p3", role="trainee", building="s", buddy="p2"),
            Person(id="p4", role="cleaner", building="x"),
            Person(id="p9", role="service_leader", name="Anne Jensen"),
            Person(id="p8", role="service_leader", name="Bo Berg"),
        ],
        cards=[Card(card=CARD, person="p1"), Card(card=OTHER_CARD, person="p4")],
        leaders=[
            Leader(building="s", person="p9"),
            Leader(building="d", person="p9"),
            Leader(building="x", person="p8"),
        ],
    )


def tap(influx: Influx, room: str, card: str, when: int, building: str = "s") -> None:
    influx.write(
        [
            line(
                "tap",
                {"building": building, "room": room, "device": "nfc-x"},
                {"card": card, "boot": 1, "seq": when % 100_000, "clock_ok": True},
                when,
            )
        ]
    )


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def log_in(client: TestClient, name: str, back: str = "/web/") -> None:
    page = client.get("/web/login", params={"back": back})
    r = client.post(
        "/web/login",
        data={"name": name, "password": PASSWORD, "csrf": csrf(page.text), "back": back},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
