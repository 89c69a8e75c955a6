"""The cleaner's and the service leader's pages on a real backend (SQLite, InfluxDB)."""

from __future__ import annotations

import re

import pytest
from behelpers import DAY, at
from fastapi.testclient import TestClient
from webhelpers import CARD, OTHER_CARD, csrf, log_in, tap

from backend.alerts.model import Finding
from backend.alerts.store import AlertStore
from backend.service import Backend
from pletfri.influx import Influx
from pletfri.settings import Settings


def test_the_cleaners_plan_in_route_order_ticked_by_taps(
    client: TestClient, backend: Backend, influx: Influx
) -> None:
    log_in(client, "cleaner")
    page = client.get("/web/today")
    assert page.status_code == 200 and "Bakkehøj Skole" in page.text
    [plan] = backend.plans(DAY, "s", "afternoon")
    due = [e.room for e in plan.due]
    assert len(due) >= 2
    shown = re.findall(r'<li data-room="([^"]+)"', page.text)
    assert shown[: len(due)] == due  # route order
    assert f"Tilbage: {len(due)} lokaler" in page.text
    # Another building's taps and rooms never show; this building's taps tick rooms off.
    tap(influx, "x-hall", OTHER_CARD, at("15:10"), building="x")
    tap(influx, due[0], CARD, at("15:20"))
    tap(influx, due[1], CARD, at("15:40"))
    ticks = client.get("/web/today/ticks").json()
    assert sorted(ticks["done"]) == sorted(due[:2])
    assert ticks["progress"] == f"2 af {len(due)} gjort"
    page = client.get("/web/today")
    assert page.text.count('class="done"') == 2 and "x-hall" not in page.text
    assert "Rådhuset" not in page.text and OTHER_CARD not in page.text
    assert len(page.content) < 100_000


def test_a_cleaner_with_a_shift_sees_only_it(client: TestClient) -> None:
    log_in(client, "trainee")
    page = client.get("/web/today?shift=midday")
    assert "Eftermiddagsvagt" in page.text and 'href="/web/today?shift=midday"' not in page.text


def test_roles_keep_to_their_pages(client: TestClient) -> None:
    log_in(client, "cleaner")
    r = client.get("/web/alerts")
    assert r.status_code == 403 and "Siden er for serviceledere" in r.text
    client.get("/web/language/en")
    assert "This page is for service leaders" in client.get("/web/verification").text


def missed(store: AlertStore, building: str, room: str) -> int:
    finding = Finding("missed_cleaning", f"{room}/{DAY}/afternoon", building, "warning",
                      {"shift": "afternoon", "end_ms": at("21:00")}, room)  # fmt: skip
    return store.insert(finding, at("21:40")).id


@pytest.fixture
def alerts(settings: Settings, backend: Backend) -> list[int]:
    store = AlertStore(settings.backend.database_file)
    try:
        with store.transaction():
            where = (("s", "s-class1"), ("s", "s-wc"), ("s", "s-office"), ("x", "x-hall"))
            return [missed(store, b, r) for b, r in where]
    finally:
        store.close()


def test_alerts_grouped_and_acknowledged_as_a_group(
    client: TestClient, settings: Settings, alerts: list[int]
) -> None:
    log_in(client, "leader")
    page = client.get("/web/alerts")
    assert "3 alarmer i 1 linjer" in page.text  # the other leader's building is not shown
    assert "x-hall" not in page.text and "Kvittér de valgte (op til 3)" in page.text
    token = csrf(page.text)
    # Another leader's alert in the group: nothing at all is acknowledged.
    r = client.post("/web/alerts/ack", data={"csrf": token, "id": [alerts[0], alerts[3]]})
    assert r.status_code == 403
    r = client.post("/web/alerts/ack", data={"csrf": token, "id": ["999999"]})
    assert r.status_code == 404 and "Alarm 999999 findes ikke" in r.text
    r = client.post("/web/alerts/ack", data={"csrf": token, "id": alerts[:3], "note": "ok"})
    assert r.status_code == 200 and "3 alarmer kvitteret" in r.text
    store = AlertStore(settings.backend.database_file)
    try:
        acked = [store.get(i) for i in alerts]
        # The same effect as the API's acknowledge: by the leader, note kept, event closed.
        assert [(a.acked_by, a.ack_note, a.state) for a in acked[:3]] == [
            ("p9", "ok", "resolved")
        ] * 3
        assert acked[3].state == "open"
        # ... and, as the API does, their InfluxDB points written at once.
        assert not {a.id for a in store.dirty()} & set(alerts[:3])
    finally:
        store.close()
    assert "Ingen åbne alarmer" in client.get("/web/alerts").text


def test_verification_links_missed_rooms_to_their_history(client: TestClient) -> None:
    log_in(client, "leader")
    page = client.get(f"/web/verification?date={DAY}")
    assert page.status_code == 200 and "Bakkehøj Skole" in page.text and "Rådhuset" not in page.text
    # Planned at 15:00 and no visit by now: pending, not missed, until the shift has ended.
    history = client.get("/web/rooms/s-class1")
    assert history.status_code == 200 and "Historik for Klasse 1A" in history.text
    assert client.get("/web/rooms/x-hall").status_code == 403
    assert client.get("/web/verification?date=16-11-2026").status_code == 422


def test_an_inspection_drawn_recorded_and_finished(client: TestClient, backend: Backend) -> None:
    log_in(client, "leader")
    token = csrf(client.get("/web/inspections").text)
    r = client.post("/web/inspections", data={"csrf": token, "building": "x", "day": str(DAY)})
    assert r.status_code == 403
    r = client.post("/web/inspections", data={"csrf": token, "building": "s", "day": str(DAY)},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    url = r.headers["location"]
    number = int(url.rsplit("/", 1)[1])
    again = client.post("/web/inspections", data={"csrf": token, "building": "s", "day": str(DAY)})
    assert again.status_code == 409 and url in again.text
    page = client.get(url)
    rooms = re.findall(r'action="/web/inspections/\d+/rooms/([^"]+)"', page.text)
    assert rooms and 'type="radio"' in page.text
    bad = client.post(f"{url}/rooms/{rooms[0]}", data={"csrf": token, "level": "9"})
    assert bad.status_code == 422 and "Niveauet skal være 0 til 5" in bad.text
    early = client.post(f"{url}/finish", data={"csrf": token})
    assert early.status_code == 422
    for room in rooms:
        form = {"csrf": token, "level": "4", "dust": "1", "note": "fint"}
        r = client.post(f"{url}/rooms/{room}", data=form)
        assert r.status_code == 200
    assert client.post(f"{url}/finish", data={"csrf": token}).status_code == 200
    from backend.quality import inspections as quality

    done = quality.get(backend.registry, number)
    assert done.status == "done" and done.approved and done.inspector == "p9"
    late = client.post(f"{url}/rooms/{rooms[0]}", data={"csrf": token, "level": "1"})
    assert late.status_code == 409 and "er afsluttet" in late.text


def test_trainees_with_progress(client: TestClient) -> None:
    log_in(client, "leader")
    page = client.get("/web/trainees")
    assert page.status_code == 200 and "p3" in page.text and "ikke endnu" in page.text


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/web/nope"),
        ("GET", "/web/inspections/abc"),
        ("GET", "/web/inspections/99999"),
        ("GET", "/web/rooms/nope"),
        ("GET", "/web/rooms/%00%ff"),
        ("GET", "/web/verification?date=%ff"),
        ("GET", "/web/static/..%2F..%2Fpyproject.toml"),
        ("POST", "/web/alerts/ack"),
        ("POST", "/web/inspections/1/rooms/x"),
        ("GET", "/t?picc=zz&cmac=1"),
        ("GET", "/web/today?shift=%3Cscript%3E"),
    ],
)
def test_bad_input_gets_a_page_never_a_500(client: TestClient, method: str, path: str) -> None:
    log_in(client, "leader")
    r = client.request(method, path, content=b"\xff\xfe=&&csrf", headers={
        "content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html") and "<script>" not in r.text


def test_a_sticker_of_another_building_is_refused_before_anything_is_recorded(
    backend: Backend, settings: Settings
) -> None:
    from backend.api import create_app
    from backend.registry import Device, RegistryData
    from backend.stickers import PARAM_CMAC, PARAM_PICC, keys, sun

    master, uid = "000102030405060708090a0b0c0d0e0f", bytes.fromhex("04a1b2c3d4e5f6")
    backend.registry.merge(RegistryData(devices=[
        Device(id=f"tag-{uid.hex()}", kind="sticker", room="x-hall")]))  # fmt: skip
    picc, cmac = sun.emulate(keys.meta_read_key(bytes.fromhex(master)),
                             keys.file_read_key(bytes.fromhex(master), uid), uid, 5)  # fmt: skip
    url = f"/t?{PARAM_PICC}={picc}&{PARAM_CMAC}={cmac}"
    with TestClient(create_app(settings)) as off:
        log_in(off, "cleaner")
        r = off.get(url)
        assert r.status_code == 503 and "stickers.master_key" in r.text
    settings.stickers.master_key = master
    settings.stickers.client_id = f"stickers-{settings.influx.database}"
    with TestClient(create_app(settings)) as c:
        log_in(c, "leader")
        assert c.get(url).status_code == 403
        c.cookies.clear()
        log_in(c, "cleaner")  # of building s; the sticker is in x
        r = c.get(url)
        assert r.status_code == 403 and "bygning, du ikke arbejder i" in r.text
    assert backend.registry.query("SELECT * FROM sticker_counters") == []
