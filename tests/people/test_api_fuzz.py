"""A schema-driven fuzz run of every route of the HTTP API (schemathesis strategies built
from the app's own OpenAPI document) against the real app, served by uvicorn on a loopback
port, over a real InfluxDB and SQLite holding two buildings' data.

Each generated case is sent with six credentials: none, an unknown token, facility, an
unbound service leader, a service leader bound to the north building, and admin. Checked:

- no 5xx, ever;
- without a valid token every route but /health answers 401;
- a facility token never gets a 2xx from the routes that name people or change the
  registry (admin: /registry, person export; leaders: /people, /visits);
- the north leader's answers never contain the south building's data (its ids, names,
  card pseudonyms), unless the request itself named it;
- then every route is asked, with the north leader's token, for the south building by
  path and query: never a 2xx carrying south's data.

Bounded (``PLETFRI_FUZZ_EXAMPLES`` cases per route, default 25) and marked slow. The run's
figures (routes, cases, requests, statuses) are printed and written to
``<run.dir>/fuzz.json``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings

from backend.alerts.model import Finding
from backend.alerts.store import AlertStore
from backend.api import create_app
from backend.people import tokens
from backend.quality import inspections as quality
from backend.registry import Building, Card, Device, Leader, Person, RegistryData, Room
from backend.service import Backend
from pletfri.influx import line
from pletfri.services import free_port
from pletfri.settings import Settings

TZ = ZoneInfo("Europe/Copenhagen")
DAY = date(2026, 11, 16)
NOW = int(datetime(2026, 11, 18, 8, 0, tzinfo=TZ).timestamp() * 1000)
EXAMPLES = int(os.environ.get("PLETFRI_FUZZ_EXAMPLES", "25"))
# Everything that would give the south building's data away in an answer.
SOUTH = ("south", "Sydskolen", "2222222222222222", "Søren Syd", "soren@syd.example")
ADMIN_ONLY = {("GET", "/registry"), ("PUT", "/registry"), ("GET", "/people/{person}/export"),
              ("DELETE", "/registry/{section}/{key}")}  # fmt: skip
NAMES_PEOPLE = {("GET", "/people"), ("GET", "/visits")}


def _ms(hhmm: str) -> int:
    h, m = (int(x) for x in hhmm.split(":"))
    return int(datetime(DAY.year, DAY.month, DAY.day, h, m, tzinfo=TZ).timestamp() * 1000)


def registry() -> RegistryData:
    rooms, devices, people, cards, leaders = [], [], [], [], []
    for b, card, name in (("north", "1111111111111111", "Nina Nord"),
                          ("south", "2222222222222222", "Søren Syd")):  # fmt: skip
        for i, kind in enumerate(("classroom", "toilet")):
            rooms.append(Room(id=f"{b}-r{i}", building=b, type=kind, area_m2=40))
            devices.append(Device(id=f"nfc-{b}-{i}", kind="station", room=f"{b}-r{i}"))
            devices.append(Device(id=f"occ-{b}-{i}", kind="sensor", room=f"{b}-r{i}"))
        people.append(Person(id=f"{b}-cleaner", role="cleaner", building=b, name=name))
        email = f"{name.split()[0].lower().replace('ø', 'o')}@{b[:3]}.example"
        lead = Person(id=f"{b}-lead", role="service_leader", name=f"{name} leder", email=email)
        people.append(lead)
        cards.append(Card(card=card, person=f"{b}-cleaner"))
        leaders.append(Leader(building=b, person=f"{b}-lead"))
    return RegistryData(
        buildings=[
            Building(id="north", name="Nordskolen", kind="school"),
            Building(id="south", name="Sydskolen", kind="school"),
        ],
        rooms=rooms,
        devices=devices,
        people=people,
        cards=cards,
        leaders=leaders,
    )


def _data(be: Backend, settings: Settings) -> None:
    be.registry.replace(registry())
    be.make_plans(DAY, "afternoon", _ms("15:00"))
    lines = []
    for b, card in (("north", "1111111111111111"), ("south", "2222222222222222")):
        for t in ("16:00", "16:30"):
            tags = {"building": b, "room": f"{b}-r0", "device": f"nfc-{b}-0"}
            lines.append(line("tap", tags, {"card": card, "boot": 1, "seq": 1}, _ms(t)))
    be.influx.write(lines)
    be.pair_visits(_ms("23:00"))
    store = AlertStore(be.conf.database_file)
    try:
        with store.transaction():
            for b in ("north", "south"):
                params = {"shift": "afternoon", "start_ms": _ms("15:00"), "end_ms": _ms("21:00")}
                found = Finding("missed_cleaning", f"{b}-r1@afternoon@{DAY}", b, "warning",
                                params, room=f"{b}-r1")  # fmt: skip
                store.insert(found, _ms("22:00"))
    finally:
        store.close()
    for b in ("north", "south"):
        quality.plan(be.registry, settings.quality, b, DAY, NOW)


def _canon(data: RegistryData) -> dict[str, list[str]]:
    return {
        section: sorted(json.dumps(r.model_dump(mode="json"), sort_keys=True) for r in records)
        for section, records in data
    }


class Credentials:
    """The six credentials; tokens are made again when a fuzzed admin call removed them."""

    def __init__(self, be: Backend) -> None:
        self.be = be
        self.tokens: dict[str, str | None] = {}
        self.ensure()

    def ensure(self) -> None:
        reg = self.be.registry
        if _canon(reg.data()) != _canon(registry()):
            reg.replace(registry())
        wanted: dict[str, tuple[tokens.ApiRole, str | None]] = {
            "facility": ("facility", None),
            "leader": ("service_leader", None),
            "north_leader": ("service_leader", "north-lead"),
            "admin": ("admin", None),
        }
        for name, (role, person) in wanted.items():
            token = self.tokens.get(name)
            if token is None or tokens.lookup(reg, token) is None:
                tokens.revoke(reg, f"fuzz {name}")
                self.tokens[name] = tokens.create(reg, role, f"fuzz {name}", NOW, person)
        self.tokens["none"] = None
        self.tokens["unknown"] = "not-a-token"


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, Backend, Credentials]]:
    be = Backend(settings)
    _data(be, settings)
    creds = Credentials(be)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, clock=lambda: NOW),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            log_config=None,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", be, creds
    finally:
        server.should_exit = True
        thread.join(10)
        be.close()


def _mentions_south(case: Any) -> bool:
    asked = json.dumps(
        [case.path_parameters, case.query, case.body if isinstance(case.body, dict | list) else
         str(case.body)], default=str, ensure_ascii=False
    )  # fmt: skip
    return "south" in asked.lower() or "syd" in asked.lower()


def _leaks(text: str) -> list[str]:
    return [m for m in SOUTH if m in text]


@dataclass
class Run:
    statuses: Counter[int]
    cases: Counter[str]
    problems: list[str]
    http: httpx.Client


def _send(http: httpx.Client, kw: dict[str, Any], token: str | None) -> httpx.Response:
    # The case's request, sent with httpx: schemathesis's own sender trips over the
    # urllib3-future that grafana-client's niquests installs in place of urllib3.
    unknown = set(kw) - {"method", "url", "headers", "params", "data", "json", "cookies"}
    assert not unknown, f"a request part this sender does not know: {unknown}"
    # The credential under test replaces whatever the schema's security scheme generated.
    headers = {k: v for k, v in (kw.get("headers") or {}).items() if k.lower() != "authorization"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if kw.get("cookies"):
        http.cookies = httpx.Cookies(kw["cookies"])
    else:
        http.cookies.clear()
    data = kw.get("data")
    return http.request(
        kw["method"],
        kw["url"],
        params=kw.get("params"),
        headers=headers,
        json=kw.get("json"),
        content=data if isinstance(data, bytes | str) else None,
        data=data if isinstance(data, dict) else None,
    )


def _fuzz(op: Any, base: str, creds: Credentials, run: Run) -> None:
    """EXAMPLES cases of one route, each sent with every credential."""
    key = (op.method.upper(), op.path)
    route = f"{key[0]} {key[1]}"
    mutates = key[0] in ("PUT", "POST", "DELETE")

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy())
    def one(case: Any) -> None:
        run.cases[route] += 1
        for who, token in list(creds.tokens.items()):
            try:
                r = _send(run.http, case.as_transport_kwargs(base_url=base), token)
            except httpx.TransportError as e:
                # A server that dies inside a request drops the connection: as bad as a 500.
                run.problems.append(
                    f"{route} as {who}: {case.path_parameters} {case.query} -> {e!r}"
                )
                run.statuses[599] += 1
                continue
            run.statuses[r.status_code] += 1
            where = f"{route} as {who}: {case.path_parameters} {case.query}"
            if r.status_code >= 500:
                run.problems.append(f"{where} -> {r.status_code} {r.text[:300]}")
            if who in ("none", "unknown") and key[1] != "/health" and r.status_code != 401:
                run.problems.append(f"{where} -> {r.status_code} without a valid token")
            if who == "facility" and key in ADMIN_ONLY | NAMES_PEOPLE and r.status_code < 300:
                run.problems.append(f"{where} -> {r.status_code} for the facility role")
            if who == "north_leader" and not _mentions_south(case) and _leaks(r.text):
                run.problems.append(f"{where} -> {r.status_code} shows {_leaks(r.text)}")
            if mutates and who == "admin":
                creds.ensure()

    one()


@pytest.mark.slow
def test_fuzz_every_route_with_every_credential(
    served: tuple[str, Backend, Credentials], settings: Settings
) -> None:
    base, _, creds = served
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    http = httpx.Client(timeout=30)
    statuses: Counter[int] = Counter()
    cases: Counter[str] = Counter()
    problems: list[str] = []
    routes = []
    for result in schema.get_all_operations():
        op = result.ok()
        routes.append(f"{op.method.upper()} {op.path}")
        _fuzz(op, base, creds, Run(statuses, cases, problems, http))

    # Every route asked for the south building by the north leader, by path and by query.
    token = creds.tokens["north_leader"]
    fill = {"building": "south", "person": "south-cleaner", "section": "buildings",
            "key": "south", "alert_id": "2", "inspection": "2", "room": "south-r0"}  # fmt: skip
    for result in schema.get_all_operations():
        op = result.ok()
        path = op.path
        for name, value in fill.items():
            path = path.replace("{" + name + "}", value)
        method = op.method.upper()
        auth = {"Authorization": f"Bearer {token}"}
        resp = http.request(method, base + path, params={"building": "south"}, headers=auth)
        statuses[resp.status_code] += 1
        cases[f"{method} {op.path} (south)"] += 1
        if resp.status_code >= 500:
            problems.append(f"{method} {path}?building=south -> {resp.status_code}")
        elif resp.status_code < 300 and _leaks(resp.text):
            problems.append(f"{method} {path}?building=south -> shows {_leaks(resp.text)}")
        creds.ensure()

    # What earlier runs found, kept as fixed cases: each is refused with a 4xx that says why.
    creds.ensure()
    admin = {"Authorization": f"Bearer {creds.tokens['admin']}"}
    north = {"Authorization": f"Bearer {creds.tokens['north_leader']}"}
    for method, path, params, auth, expected in (
        ("GET", "/alerts/3975646706340845322240", {}, admin, 422),  # SQLite integer overflow
        ("GET", "/quality/inspections/3975646706340845322240", {}, admin, 422),
        ("GET", "/visits", {"date": "0378-07-31"}, admin, 422),  # InfluxDB time overflow
        ("GET", "/verification", {"date": "0378-07-31"}, admin, 422),
        ("GET", "/visits", {"building": "a\rb"}, admin, 422),  # no InfluxQL string for it
        ("GET", "/savings", {"first": "2000-01-01", "last": "2199-12-31"}, admin, 422),
        ("GET", "/alerts/2", {}, north, 403),  # south's alert, asked by the north leader
        ("POST", "/alerts/2/ack", {}, north, 403),
        ("GET", "/alerts", {"building": "south"}, north, 403),
    ):
        resp = http.request(method, base + path, params=params, headers=auth, json={"note": ""})
        statuses[resp.status_code] += 1
        cases[f"{method} {path} (regression)"] += 1
        if resp.status_code != expected:
            problems.append(f"{method} {path} {params} -> {resp.status_code}, not {expected}")
    listed = http.get(base + "/alerts", headers=north, params={"state": "all"}).json()
    if {a["building"] for a in listed} != {"north"}:
        problems.append(f"GET /alerts as the north leader lists {listed}")

    figures = {
        "routes": len(routes),
        "cases": sum(cases.values()),
        "requests": sum(statuses.values()),
        "statuses": dict(sorted(statuses.items())),
        "problems": len(problems),
        "examples_per_route": EXAMPLES,
    }
    settings.run.dir.mkdir(parents=True, exist_ok=True)
    (settings.run.dir / "fuzz.json").write_text(json.dumps(figures | {"found": problems}, indent=2))
    print("fuzz:", json.dumps(figures))
    assert not problems, "\n".join(problems[:40])
