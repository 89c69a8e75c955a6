"""The demo's planted faults, through the real gateway, caught by the rules from stored data:
a station that goes offline, a battery running flat, a card in two buildings minutes apart,
and an unknown card."""

from __future__ import annotations

import json
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from backend.alerts.engine import AlertEngine
from backend.alerts.sources import StaticSources
from gateway.service import Gateway
from pletfri.influx import Influx
from pletfri.settings import Settings
from pletfri_fw import contract

from .helpers import CARD, HOUR, MIN, SENSOR, STATION, STATION2

UNKNOWN = "fedcba9876543210"


def test_faults_through_the_gateway_become_alerts(
    alert_settings: Settings, sources: StaticSources, influx: Influx
) -> None:
    g = alert_settings.gateway
    g.registry_file.write_text(
        "device,kind,building,room,room_type\n"
        f"{STATION},station,b001,b001-r101,classroom\n"
        f"{SENSOR},sensor,b001,b001-r101,classroom\n"
        f"{STATION2},station,b002,b002-r201,classroom\n"
    )
    g.registry_file.with_name("cards.csv").write_text(f"card,role\n{CARD},cleaner\n")
    g.batch_interval_s = 0.1
    gw = Gateway(alert_settings)
    gw.start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="faults", protocol=mqtt.MQTTv5)
    pub.connect(alert_settings.mqtt.host, alert_settings.mqtt.port)
    pub.loop_start()
    now = int(time.time() * 1000)
    sent: list[mqtt.MQTTMessageInfo] = []

    def send(device: str, channel: str, payload: dict | str) -> None:
        body = payload if isinstance(payload, str) else json.dumps(payload)
        sent.append(pub.publish(contract.topic(device, channel), body, qos=1))

    try:
        assert gw.connected.wait(10)
        send(STATION, contract.STATUS, contract.STATUS_ONLINE)
        send(STATION, contract.STATUS, contract.STATUS_OFFLINE)
        for seq, (ago, mv) in enumerate(((20 * HOUR, 2480), (HOUR, 2250)), 1):
            send(
                SENSOR,
                contract.HEARTBEAT,
                contract.heartbeat_payload(1, seq, {"batt_mv": mv}, now - ago),
            )
        send(STATION, contract.TAP, contract.tap_payload(1, 1, CARD, now - 30 * MIN))
        send(STATION2, contract.TAP, contract.tap_payload(1, 1, CARD, now - 24 * MIN))
        send(STATION, contract.TAP, contract.tap_payload(1, 2, UNKNOWN, now - 10 * MIN))
        for info in sent:
            info.wait_for_publish(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            taps = influx.query('SELECT count("card") FROM "tap"')
            status = influx.query('SELECT count("online") FROM "device"')
            if taps and taps[0]["count"] == 3 and status and status[0]["count"] == 2:
                break
            time.sleep(0.1)
    finally:
        pub.loop_stop()
        pub.disconnect()
        gw.stop()

    with AlertEngine(alert_settings, sources, influx) as engine:
        found = engine.evaluate(now + 16 * MIN).new
    assert sorted((a.rule, a.building, a.subject.split("@")[0]) for a in found) == [
        ("battery", "b001", SENSOR),
        ("card_travel", "b001", CARD),
        ("card_travel", "b002", CARD),
        ("device_offline", "b001", STATION),
        ("unknown_card", "b001", UNKNOWN),
    ]
