"""The station's logic and the device's own MQTT client against a real Mosquitto: no tap
lost across a broker restart in the middle of a burst; Last Will and birth."""

from __future__ import annotations

import json
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from fwbroker import Collector
from paho.mqtt.enums import CallbackAPIVersion

from pletfri.services import Mosquitto, free_port
from pletfri_fw import contract
from pletfri_fw.mqtt_client import MQTTClient
from pletfri_host.paho_link import PahoLink
from pletfri_host.sim import make_station

DEV = "nfc-a4cf12f0b3c1"
KEY = bytes(range(32))


def link_for(kind: str, port: int) -> Any:
    if kind == "device-client":
        return MQTTClient("127.0.0.1", port, DEV, keepalive_s=10, timeout_s=2)
    return PahoLink("127.0.0.1", port, DEV, keepalive_s=10, timeout_s=2)


def now_ms() -> int:
    return int(time.monotonic() * 1000)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["device-client", "paho"])
def test_no_tap_lost_across_broker_restart_mid_burst(broker: Mosquitto, kind: str) -> None:
    collector = Collector(broker.port, contract.subscription(contract.TAP))
    station = make_station(DEV, KEY, link_for(kind, broker.port))
    station.start(now_ms())
    try:
        deadline = time.monotonic() + 5
        while not station.uplink.up():
            assert time.monotonic() < deadline, station.uplink.last_error
            station.poll(now_ms())
            time.sleep(0.01)
        taps = 150
        for i in range(taps):
            station.card_read(i.to_bytes(4, "big"), now_ms())
            station.poll(now_ms())
            if i == 60:
                broker.stop()  # a restart with taps in flight and more arriving
            if i == 90:
                broker.start()
            time.sleep(0.01)
        deadline = time.monotonic() + 20
        while len(station.uplink.store) or len(collector.taps()) < taps:
            assert time.monotonic() < deadline, (
                f"{len(station.uplink.store)} taps still queued, "
                f"{len(collector.taps())} of {taps} received; {station.uplink.last_error}"
            )
            station.poll(now_ms())
            time.sleep(0.01)
        assert collector.taps() == {(1, seq) for seq in range(1, taps + 1)}
        assert station.uplink.connects >= 2
    finally:
        station.shutdown(now_ms())
        collector.stop()


def test_device_client_will_birth_downlink(broker: Mosquitto) -> None:
    collector = Collector(broker.port, contract.DEV_ROOT + DEV + "/status")
    link = MQTTClient("127.0.0.1", broker.port, DEV, keepalive_s=10)
    station = make_station(DEV, KEY, link)
    station.start(now_ms())
    try:
        station.poll(now_ms())
        assert station.uplink.up()
        # The platform answers a tap; the device's client reads it without blocking.
        station.card_read(b"\x01\x02\x03\x04", now_ms())
        platform = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="platform")
        platform.connect("127.0.0.1", broker.port)
        platform.loop_start()
        ack = contract.ack_payload(1, 1, "ok", "clean")
        platform.publish(
            contract.topic(DEV, contract.ACK), json.dumps(ack), qos=1
        ).wait_for_publish()
        # The ack may come before the tap's own PUBACK: the platform's publish and the
        # station's tap are two connections, read in either order by a busy broker.
        deadline = time.monotonic() + 10
        while station.acks == 0 or not station.uplink.idle():
            assert time.monotonic() < deadline
            station.poll(now_ms())
            time.sleep(0.005)
        # A crash (no DISCONNECT) makes the broker publish the Last Will.
        link.close(clean=False)
        deadline = time.monotonic() + 10
        while [p for _, p, _ in collector.messages] != [b"online", b"offline"]:
            assert time.monotonic() < deadline, collector.messages
            time.sleep(0.01)
        platform.loop_stop()
        platform.disconnect()
    finally:
        collector.stop()


def test_device_client_unreachable_broker_is_an_oserror() -> None:
    closed = MQTTClient("127.0.0.1", free_port(), DEV, timeout_s=1)
    with pytest.raises(OSError):
        closed.open("t/status", b"offline", 0)
    assert not closed.up()
