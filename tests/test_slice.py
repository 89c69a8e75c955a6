"""The first slice end to end on real servers: a station's tap is stored and acknowledged."""

from __future__ import annotations

import json
import queue
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateway.service import Gateway
from pletfri.influx import Influx
from pletfri.settings import Settings
from pletfri_fw import contract
from pletfri_fw.pseudonym import Pseudonymiser

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
    acks: queue.Queue[dict] = queue.Queue()
    station = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=DEVICE, protocol=mqtt.MQTTv5)
    station.on_message = lambda c, u, m: acks.put(json.loads(m.payload))
    try:
        station.connect(settings.mqtt.host, settings.mqtt.port)
        station.loop_start()
        station.subscribe(contract.topic(DEVICE, contract.ACK), qos=1)
        assert gw.connected.wait(5)
        card = Pseudonymiser(b"site-key").card(bytes.fromhex("04a1b2c3d4e5f6"))
        ts = int(time.time() * 1000)
        payload = contract.tap_payload(boot=3, seq=17, card=card, ts=ts)
        station.publish(contract.topic(DEVICE, contract.TAP), json.dumps(payload), qos=1)

        ack = acks.get(timeout=5)
        assert ack == {"boot": 3, "seq": 17, "result": "ok", "need": "unknown"}
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
        station.loop_stop()
        station.disconnect()
        gw.stop()
