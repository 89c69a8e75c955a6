"""A sample municipality: 155 buildings, about 6,200 rooms, devices, cleaners and leaders.

Deterministic for a seed, so the demo, the tests and the benchmark all see the same one.
The cards' raw UIDs are derived from the seed (`card_uid`) so that a simulator can present
them to a station; the registry itself only keeps their pseudonyms, made with the site key
exactly as the station makes them (pletfri_fw.pseudonym).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date

from backend.registry.model import (
    Building,
    Card,
    Device,
    Leader,
    Person,
    RegistryData,
    Room,
)
from pletfri_fw.pseudonym import Pseudonymiser

PLACES = [
    "Bakkehøj", "Søndermark", "Egebjerg", "Lindevang", "Vestervang", "Østerhøj", "Kildegård",
    "Holmegård", "Skovlunden", "Engholm", "Havrehøj", "Rosenhøj", "Birkely", "Fjordvang",
    "Nørremark", "Kirkebakken", "Solbjerg", "Strandby", "Møllevang", "Bøgeskov", "Ellehøj",
    "Toftegård", "Grønnevang", "Lyngbakken", "Tingstedet", "Hvidovregård", "Sletten", "Vejlebro",
    "Stationsbyen", "Højvang", "Ådalen", "Havnegade", "Kærholm", "Borupgård", "Nyager",
    "Præstemarken", "Ravnsholt", "Svanevig", "Tranegården", "Ulvedal",
]  # fmt: skip
DAYCARE_NAMES = [
    "Mariehønen", "Solsikken", "Troldehøjen", "Regnbuen", "Myretuen", "Bikuben", "Kastanjen",
    "Humlebien", "Søstjernen", "Spiren", "Mælkebøtten", "Skovtrolden", "Græshoppen",
    "Sommerfuglen", "Pusling", "Abehuset", "Krudtuglen", "Lærkereden", "Bøgebladet", "Valmuen",
    "Rødkløveren", "Egernet",
]  # fmt: skip
DAYCARE_FORMS = ["Børnehuset", "Vuggestuen", "Børnehaven", "Integreret institution"]
OTHERS = [
    "Hovedbiblioteket", "Kulturhuset", "Svømmehallen", "Jobcentret", "Musikskolen",
    "Ungdomsskolen", "Materielgården", "Borgerservice", "Sundhedshuset", "Tandplejen",
]  # fmt: skip
OTHER_FORMS = ["Bibliotek", "Idrætshal", "Plejecenter", "Medborgerhus", "Fritidscenter"]
FIRST = ["Anne", "Mette", "Lars", "Jens", "Hanne", "Peter", "Susanne", "Mads", "Sofie", "Ali"]
LAST = ["Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Larsen", "Sørensen", "Yilmaz"]
DISTRICTS = ["Nord", "Syd", "Øst", "Vest", "Centrum"]

# (room type, Danish name, area range m2, INSTA 800 level)
TYPES = {
    "classroom": ("Klasselokale", (45, 65), 3),
    "toilet": ("Toilet", (6, 28), 4),
    "office": ("Kontor", (10, 28), 3),
    "meeting": ("Mødelokale", (18, 48), 3),
    "corridor": ("Gang", (30, 160), 2),
    "kitchen": ("Køkken", (12, 45), 4),
    "gym": ("Omklædning/hal", (25, 450), 3),
    "group_room": ("Grupperum", (30, 60), 4),
    "sleeping": ("Soverum", (12, 30), 4),
}
# Rooms per building kind: type -> (least, most).
MIX = {
    "townhall": {"office": (150, 170), "meeting": (36, 44), "toilet": (22, 26),
                 "corridor": (20, 24), "kitchen": (6, 8)},
    "school": {"classroom": (44, 62), "toilet": (10, 16), "corridor": (8, 12), "gym": (3, 5),
               "kitchen": (1, 3), "office": (6, 10), "meeting": (2, 4), "group_room": (4, 7)},
    "daycare": {"group_room": (5, 8), "sleeping": (2, 3), "toilet": (3, 4), "kitchen": (1, 1),
                "corridor": (1, 2), "office": (1, 2)},
    "other": {"office": (8, 16), "meeting": (2, 5), "toilet": (3, 6), "corridor": (2, 4),
              "kitchen": (1, 2), "gym": (0, 3)},
}  # fmt: skip
COUNTS = {"townhall": 1, "school": 38, "daycare": 82, "other": 34}
FLOORS = {"townhall": 4, "school": 3, "daycare": 1, "other": 2}
# Corridors get a sensor only; these share of other rooms have no station either.
NO_STATION_SHARE = 0.08
INSTALLED = date(2026, 8, 3)


@dataclass(frozen=True, slots=True)
class SampleOptions:
    seed: int = 1
    site_key: bytes | None = None  # None: b"pletfri-demo-<seed>", as the demo uses

    @property
    def key(self) -> bytes:
        return self.site_key or f"pletfri-demo-{self.seed}".encode()


def card_uid(seed: int, person: str) -> bytes:
    """The raw 7-byte UID of `person`'s card in the sample (never stored by Pletfri)."""
    return hashlib.sha256(f"{seed}:card:{person}".encode()).digest()[:7]


def _mac(kind: int, n: int) -> str:
    # Espressif's OUI, then the kind and a counter: unique and stable across runs.
    return f"a4cf12{kind:01x}{n:05x}"


def _buildings(rng: random.Random) -> list[Building]:
    places = PLACES[:]
    rng.shuffle(places)
    names: list[tuple[str, str]] = [("townhall", "Rådhuset")]
    names += [("school", f"{places[i % len(places)]} Skole") for i in range(COUNTS["school"])]
    used: set[str] = set()
    while len(used) < COUNTS["daycare"]:
        used.add(f"{rng.choice(DAYCARE_FORMS)} {rng.choice(DAYCARE_NAMES)}")
    names += [("daycare", n) for n in sorted(used)]
    others = OTHERS[:]
    while len(others) < COUNTS["other"]:
        n = f"{rng.choice(places)} {rng.choice(OTHER_FORMS)}"
        if n not in others:
            others.append(n)
    names += [("other", n) for n in others]
    # Training tracks: the town hall, two schools, and the culture house.
    tracks = {"Rådhuset", names[1][1], names[2][1], "Kulturhuset"}
    streets = ["vej", "gade", "allé", "stræde"]
    return [
        Building(
            id=f"b{i + 1:03d}",
            name=name,
            address=f"{rng.choice(places)}{rng.choice(streets)} {rng.randint(1, 120)}, "
            f"{rng.choice([4000, 4100, 4130, 4140, 4174, 4180])}",
            kind=kind,
            training_track=name in tracks,
        )
        for i, (kind, name) in enumerate(names)
    ]


def _rooms(rng: random.Random, b: Building) -> list[Room]:
    types = [t for t, (lo, hi) in MIX[b.kind].items() for _ in range(rng.randint(lo, hi))]
    floors = FLOORS[b.kind]
    rooms = []
    for j, t in enumerate(types):
        label, (lo, hi), level = TYPES[t]
        floor = j * floors // len(types)
        zone = "ABCD"[(j * 4 // max(1, len(types))) % 4] if b.kind != "daycare" else "A"
        rooms.append(
            Room(
                id=f"{b.id}-r{j + 1:03d}",
                building=b.id,
                name=f"{label} {floor}.{j + 1:02d}",
                type=t,
                area_m2=round(rng.uniform(lo, hi), 1),
                floor=floor,
                zone=zone,
                quality_level=level,
            )
        )
    return rooms


def generate(options: SampleOptions | None = None) -> RegistryData:
    """The sample municipality for `options.seed`."""
    opts = options or SampleOptions()
    rng = random.Random(f"pletfri-sample:{opts.seed}")
    pseudo = Pseudonymiser(opts.key)
    buildings = _buildings(rng)
    rooms: list[Room] = []
    devices: list[Device] = []
    people: list[Person] = []
    leaders: list[Leader] = []
    district_leaders: dict[str, str] = {}

    def person(role: str, team: str, building: str | None, **kw: object) -> Person:
        p = Person(id=f"p{len(people) + 1:04d}", role=role, team=team, building=building, **kw)
        people.append(p)
        return p

    for n, district in enumerate(DISTRICTS):
        first, last = FIRST[n * 3 % len(FIRST)], LAST[n * 5 % len(LAST)]
        leader = person(
            "service_leader",
            district,
            None,
            name=f"{first} {last}",
            email=f"{first.lower()}.{last.lower()}@pletfri.example".replace("ø", "oe"),
            language="en" if district == "Centrum" else "da",
            webhook=None,
        )
        district_leaders[district] = leader.id

    for i, b in enumerate(buildings):
        district = DISTRICTS[i % len(DISTRICTS)]
        own = _rooms(rng, b)
        rooms += own
        for r in own:
            n = len(devices)
            devices.append(Device(id=f"occ-{_mac(1, n)}", kind="sensor", room=r.id,
                                  installed=INSTALLED))  # fmt: skip
            if r.type != "corridor" and rng.random() >= NO_STATION_SHARE:
                devices.append(Device(id=f"nfc-{_mac(2, n)}", kind="station", room=r.id,
                                      installed=INSTALLED))  # fmt: skip
        leaders.append(Leader(building=b.id, person=district_leaders[district]))
        area = sum(r.area_m2 for r in own)
        for _ in range(max(1, round(area / 1600))):
            person("cleaner", district, b.id)
        if b.training_track:
            track_leader = person(
                "service_leader",
                f"Træning {b.name}",
                b.id,
                name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                email=f"track.{b.id}@pletfri.example",
            )
            leaders.append(Leader(building=b.id, person=track_leader.id))
            buddy = person("buddy", district, b.id)
            for _ in range(2):
                person("trainee", district, b.id, buddy=buddy.id)

    cards = [Card(card=pseudo.card(card_uid(opts.seed, p.id)), person=p.id) for p in people]
    return RegistryData(
        buildings=buildings, rooms=rooms, devices=devices, people=people, cards=cards,
        leaders=leaders,
    )  # fmt: skip
