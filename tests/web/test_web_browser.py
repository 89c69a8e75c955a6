"""The pages in a real browser (Debian's chromium driven by Playwright) on real servers:
Mosquitto, InfluxDB, the gateway, and the backend served by uvicorn on a free loopback port.

A cleaner logs in, sees the plan, and a simulated station's tap (a CONTRACT tap through the
broker) and a simulated sticker's tap tick two rooms off; a forged and a replayed sticker URL
are refused; a service leader acknowledges a group of alerts and records an inspection.
Each page is saved as a screenshot in run/test-artifacts/web/ and checked with axe-core.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import uvicorn
from behelpers import DAY, at
from paho.mqtt.enums import CallbackAPIVersion
from webhelpers import CARD, PASSWORD, registry_data

from backend.alerts.model import Finding
from backend.alerts.store import AlertStore
from backend.api import create_app
from backend.registry import Device, RegistryData, Room
from backend.service import Backend
from backend.stickers import PARAM_CMAC, PARAM_PICC, keys, sun
from backend.web import accounts
from gateway.service import Gateway
from pletfri.services import free_port
from pletfri.settings import Settings
from pletfri_fw import contract

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "run" / "test-artifacts" / "web"
NOW = at("16:00")
MASTER = "000102030405060708090a0b0c0d0e0f"
UID = bytes.fromhex("04a1b2c3d4e5f6")
STATION = "nfc-000000000000"  # in s-class1 (webhelpers)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium missing: scripts/setup.sh"),
]


def registry() -> RegistryData:
    data = registry_data()
    # A store room without a station: a sticker makes it verifiable.
    data.rooms.append(Room(id="s-store", building="s", name="Depot", type="office", area_m2=9))
    data.devices.append(Device(id=f"tag-{UID.hex()}", kind="sticker", room="s-store"))
    return data


def sticker_url(base: str, counter: int) -> str:
    master = bytes.fromhex(MASTER)
    picc, cmac = sun.emulate(
        keys.meta_read_key(master), keys.file_read_key(master, UID), UID, counter
    )
    return f"{base}/t?{PARAM_PICC}={picc}&{PARAM_CMAC}={cmac}"


@dataclass
class Site:
    base: str
    settings: Settings
    backend: Backend


@pytest.fixture
def site(settings: Settings) -> Iterator[Site]:
    settings.stickers.master_key = MASTER
    settings.stickers.client_id = f"stickers-{settings.influx.database}"
    settings.gateway.batch_interval_s = 0.1
    settings.web.poll_s = 2
    backend = Backend(settings)
    backend.registry.replace(registry())
    backend.export_gateway_files()
    accounts.ensure_schema(backend.registry)
    accounts.add(backend.registry, "cleaner", "p1", PASSWORD, NOW)
    accounts.add(backend.registry, "leader", "p9", PASSWORD, NOW)
    backend.make_plans(DAY, "afternoon", NOW)
    store = AlertStore(settings.backend.database_file)
    with store.transaction():
        for room in ("s-class1", "s-class2", "s-wc", "s-office"):
            store.insert(
                Finding("missed_cleaning", f"{room}/{DAY}/midday", "s", "warning",
                        {"shift": "midday", "end_ms": at("13:00")}, room),
                at("16:00"),
            )  # fmt: skip
        offline = {"device": "nfc-000000000004", "kind": "station", "since_ms": at("14:00"),
                   "reason_en": "no heartbeat", "reason_da": "intet hjerteslag"}  # fmt: skip
        store.insert(
            Finding("device_offline", "nfc-000000000004", "d", "critical", offline, "d-group"),
            at("14:30"),
        )
    store.close()
    gateway = Gateway(settings).start()
    assert gateway.connected.wait(10)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, clock=lambda: NOW),
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield Site(f"http://127.0.0.1:{port}", settings, backend)
    finally:
        server.should_exit = True
        thread.join(10)
        gateway.stop()
        backend.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def look(page: object, name: str) -> None:
    """A screenshot for a person to look at, and axe-core's accessibility rules."""
    from axe_playwright_python.sync_playwright import Axe

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
    found = Axe().run(page)
    assert found.response["testEngine"]["name"] == "axe-core"
    # Every rule, minor ones too: labels, contrast, names, landmarks, headings.
    problems = [
        (v["impact"], v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in found.response["violations"]
    ]
    assert not problems, f"{name}: {problems}"


def station_tap(s: Settings, card: str, when: int, seq: int) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.connect(s.mqtt.host, s.mqtt.port)
    c.loop_start()
    payload = json.dumps(contract.tap_payload(1, seq, card, when))
    c.publish(contract.topic(STATION, contract.TAP), payload, qos=1).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


def log_in(page: object, name: str) -> None:
    page.get_by_label("Brugernavn").fill(name)  # type: ignore[attr-defined]
    page.get_by_label("Adgangskode").fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Log ind").click()  # type: ignore[attr-defined]


def test_a_cleaner_sees_the_plan_ticked_by_a_station_and_a_sticker(
    site: Site, browser: object
) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 800})  # type: ignore[attr-defined]
    page = ctx.new_page()
    page.goto(f"{site.base}/web/today")
    look(page, "login")
    log_in(page, "cleaner")
    page.wait_for_url("**/web/today")
    due = page.locator("ol.rooms li")
    assert due.count() == 5
    look(page, "today")
    assert page.locator("li.done").count() == 0
    # A station's tap through the broker: the gateway stores it, the page ticks the room
    # on its next poll, without a reload.
    station_tap(site.settings, CARD, at("15:30"), seq=7)
    page.locator('li.done[data-room="s-class1"]').wait_for(timeout=15_000)
    # The sticker in the store room, as the phone opens its URL.
    url = sticker_url(site.base, 41)
    page.goto(url)
    assert page.locator(".answer").inner_text() == "Registreret"
    assert "Depot" in page.locator("h1").inner_text()
    look(page, "sticker-recorded")
    page.get_by_role("link", name="Tilbage til dagens plan").click()
    page.locator('li.done[data-room="s-store"]').wait_for(timeout=15_000)
    assert page.locator("li.done").count() == 2
    assert "3 lokaler" in page.locator("#remaining").inner_text()
    look(page, "today-ticked")
    # The same URL again (from the history, or copied) and a forged one: refused.
    page.goto(url)
    assert page.locator(".answer").inner_text() == "Ikke registreret"
    assert "brugt før" in page.locator("p.big").inner_text()
    look(page, "sticker-replayed")
    page.goto(url.replace(f"{PARAM_CMAC}=", f"{PARAM_CMAC}=00"))
    assert page.locator(".answer").inner_text() == "Ikke registreret"
    forged = sticker_url(site.base, 42)
    forged = forged[:-4] + ("0000" if not forged.endswith("0000") else "1111")
    page.goto(forged)
    assert "kunne ikke godkendes" in page.locator("p.big").inner_text()
    look(page, "sticker-forged")
    # A phone not logged in: the sticker's URL logs in first, then records the tap.
    fresh = browser.new_context(viewport={"width": 390, "height": 800})  # type: ignore[attr-defined]
    other = fresh.new_page()
    other.goto(sticker_url(site.base, 43))
    assert "registreres trykket bagefter" in other.content()
    log_in(other, "cleaner")
    assert other.locator(".answer").inner_text() == "Registreret"
    fresh.close()
    ctx.close()


def test_a_leader_acknowledges_a_group_and_records_an_inspection(
    site: Site, browser: object
) -> None:
    ctx = browser.new_context(viewport={"width": 1024, "height": 768})  # type: ignore[attr-defined]
    page = ctx.new_page()
    page.goto(f"{site.base}/web/")
    log_in(page, "leader")
    page.wait_for_url("**/web/alerts")
    assert "5 alarmer i 2 linjer" in page.content()
    look(page, "alerts")
    # Keyboard only: tab to the group's button and press it.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Gå til indholdet"
    for _ in range(30):
        if page.evaluate("document.activeElement.textContent") == "Kvittér de valgte (op til 4)":
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError("the group's button cannot be reached with the Tab key")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
    assert outline == "3px"  # the focus is visible
    page.keyboard.press("Enter")
    page.wait_for_url("**/web/alerts?acked=4")
    assert "4 alarmer kvitteret" in page.content()
    look(page, "alerts-acknowledged")
    page.get_by_role("link", name="Verificering").click()
    look(page, "verification")
    page.get_by_role("link", name="Elever").click()
    look(page, "trainees")
    page.get_by_role("link", name="Kvalitetskontrol").click()
    look(page, "inspections")
    page.get_by_role("button", name="Udtræk stikprøve").click()
    page.wait_for_url("**/web/inspections/*")
    look(page, "inspection-form")
    units = page.locator("section.unit")
    for i in range(units.count()):
        unit = page.locator("section.unit").nth(i)
        unit.locator("label", has_text="4").first.click()
        unit.get_by_label("Støv").fill("2")
        unit.get_by_role("button", name="Gem").click()
        page.wait_for_load_state()
    page.get_by_role("button", name="Afslut og bedøm").click()
    page.wait_for_load_state()
    assert page.locator(".notice").first.inner_text().startswith("Godkendt")
    look(page, "inspection-finished")
    page.goto(f"{site.base}/web/rooms/s-class1")
    look(page, "room-history")
    page.get_by_role("link", name="English").click()
    assert page.locator("h1").inner_text().startswith("History of")
    ctx.close()
