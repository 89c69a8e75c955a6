"""The first slice end to end on real servers: the station's firmware logic, run under
CPython, publishes a tap that is stored and acknowledged."""

from __future__ import annotations

import json
import time

from gateway.service import Gateway
from pletfri.influx import Influx
from pletfri.settings import Settings
from pletfri_fw import feedback
from pletfri_fw.pseudonym import Pseudonymiser
from pletfri_host.paho_link import PahoLink, clear_retained
from pletfri_host.sim import make_station

DEVICE = "nfc-a4cf12f0b3c1"


def wait_for(predicate, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_tap_is_stored_and_acked(settings: Settings, influx: Influx) -> None:
    settings.gateway.registry_file.write_text(
        f"device,kind,building,room,room_type\n{DEVICE},station,b001,b001-r101,classroom\n"
    )
    gw = Gateway(settings)
    gw.start()
    # The station's firmware logic, run under CPython over a paho link as the device's
    # MQTT client would: boot 3, the tap is the 17th message of that boot.
    link = PahoLink(settings.mqtt.host, settings.mqtt.port, DEVICE)
    station = make_station(DEVICE, b"site-key", link)
    for _ in range(2):
        station.uplink.store.begin_boot()
    station.uplink.seq = 16
    acks: list[dict] = []

    def downlink(channel: str, payload: bytes, now_ms: int) -> None:
        if channel == "ack":
            acks.append(json.loads(payload))  # what the station saw, for the assertion
        station.on_message(channel, payload, now_ms)

    station.uplink.on_message = downlink
    try:
        assert gw.connected.wait(5)
        ts = int(time.time() * 1000)
        station.start(ts)
        wait_for(lambda: station.poll(int(time.time() * 1000)) or station.uplink.up())
        card = Pseudonymiser(b"site-key").card(bytes.fromhex("04a1b2c3d4e5f6"))
        assert station.card_read(bytes.fromhex("04a1b2c3d4e5f6"), ts)

        wait_for(lambda: station.poll(int(time.time() * 1000)) or acks)
        assert acks == [{"boot": 3, "seq": 17, "result": "ok", "need": "unknown"}]
        assert station.feedback.showing == feedback.CLEAN
        rows = wait_for(lambda: influx.query("SELECT * FROM tap"))
        assert rows == [
            {
                "time": ts,
                "building": "b001",
                "room": "b001-r101",
                "device": DEVICE,
                "card": card,
                "boot": 3,
                "seq": 17,
                "clock_ok": True,
            }
        ]
    finally:
        station.shutdown(int(time.time() * 1000))
        gw.stop()
        # The session's broker is shared: leave no retained status for later tests.
        clear_retained(settings.mqtt.host, settings.mqtt.port, [f"pletfri/v1/dev/{DEVICE}/status"])
