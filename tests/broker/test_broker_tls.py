"""TLS with verification on: the gateway and the simulated devices (each logged in as
itself) over the broker's TLS listener; a wrong CA or host name is refused; and the
gateway still dead-letters a device with a valid login that its registry does not know."""

from __future__ import annotations

import dataclasses
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from brhelpers import (
    HOST,
    STATION,
    TIMEOUT,
    UNREGISTERED,
    Probe,
    Secured,
    tls_error,
)

from backend.broker.acl import BACKEND, GATEWAY
from gateway.service import Gateway
from pletfri.services import Mosquitto
from pletfri.settings import Settings, load_settings
from pletfri_fw import config as fwconfig
from pletfri_fw import contract
from pletfri_fw.mqtt_client import MQTTClient, client_for
from sim.link import LinkError, Pool

CARD = "0123456789abcdef"


def test_wrong_ca_and_wrong_host_name_are_refused(secured: Secured) -> None:
    e = tls_error(secured.tls_port, secured.other_ca.cert, HOST)
    assert isinstance(e, ssl.SSLCertVerificationError)
    assert "unable to get local issuer certificate" in str(e)
    # The certificate names "localhost"; the same server reached by its address is not it.
    e = tls_error(secured.tls_port, secured.ca.cert, "127.0.0.1")
    assert isinstance(e, ssl.SSLCertVerificationError)
    assert "IP address mismatch" in str(e) or "hostname mismatch" in str(e)


def test_devices_refused_over_tls_get_a_clear_error(secured: Secured) -> None:
    s = load_settings(mqtt={"host": HOST, "port": secured.tls_port, "tls": True,
                            "ca_file": str(secured.other_ca.cert)})  # fmt: skip
    pool = Pool(s.mqtt, 1, 100, logins={STATION: secured.logins[STATION]})
    try:
        pool.start(timeout=5)
    except LinkError as e:
        assert "CERTIFICATE_VERIFY_FAILED" in str(e) and "with TLS and this CA" in str(e)
    else:
        raise AssertionError("a device trusting another CA connected")


def _gateway_settings(settings: Settings, secured: Secured) -> Settings:
    rows = ["device,kind,building,room,room_type", f"{STATION},station,b001,b001-r01,office"]
    settings.gateway.registry_file.parent.mkdir(parents=True, exist_ok=True)
    settings.gateway.registry_file.write_text("\n".join(rows) + "\n")
    (settings.gateway.registry_file.parent / "cards.csv").write_text(f"card,role\n{CARD},cleaner\n")
    tls = {"host": HOST, "port": secured.tls_port, "tls": True, "ca_file": secured.ca.cert}
    return settings.model_copy(
        update={
            "mqtt": settings.mqtt.model_copy(
                update={**tls, "username": GATEWAY, "password": secured.logins[GATEWAY]}
            )
        }
    )


@pytest.fixture
def platform(secured: Secured, tmp_path: Path) -> Iterator[Secured]:
    """The platform's own TLS listener (docs/broker.md): without the devices' client-id
    rule, since the gateway opens two sessions under its one login (its tap lane)."""
    assert secured.mosquitto.tls
    m = Mosquitto(
        "mosquitto",
        tmp_path / "platform",
        password_file=secured.files.password_file,
        acl_file=secured.files.acl_file,
        tls=dataclasses.replace(secured.mosquitto.tls, port=0, username_as_clientid=False),
    )
    m.start()
    try:
        yield dataclasses.replace(secured, mosquitto=m)
    finally:
        m.stop()


def test_gateway_and_devices_over_tls(settings: Settings, platform: Secured) -> None:
    secured = platform
    s = _gateway_settings(settings, secured)
    deadletters = Probe(secured.tls_port, BACKEND, secured.logins[BACKEND], "t-dl", secured.ca.cert)
    assert not deadletters.connect().is_failure
    assert deadletters.subscribe(contract.DEADLETTER_TOPIC).value < 0x80
    gw = Gateway(s).start()
    pool = Pool(
        s.mqtt.model_copy(update={"username": None, "password": None}),
        1,
        1000,
        logins={d: secured.logins[d] for d in (STATION, UNREGISTERED)},
    )
    got: list[tuple[str, str, bytes]] = []
    pool.on_message = lambda device, channel, payload: got.append((device, channel, payload))
    try:
        assert gw.connected.wait(TIMEOUT), "the gateway did not connect over TLS"
        pool.subscribe((contract.ACK,))
        pool.start(timeout=TIMEOUT)
        now = int(time.time() * 1000)
        for device in (STATION, UNREGISTERED):
            tap = {"v": 1, "boot": 1, "seq": 1, "ts": now, "card": CARD}
            pool.publish(device, contract.TAP, json.dumps(tap))
        deadline = time.monotonic() + TIMEOUT
        while not got and time.monotonic() < deadline:
            pool.pump()
            time.sleep(0.01)
        assert [(d, ch) for d, ch, _ in got] == [(STATION, contract.ACK)]
        assert json.loads(got[0][2])["result"] == contract.ACK_OK
        _, body = deadletters.messages.get(timeout=TIMEOUT)
        dead = json.loads(body)
        assert dead["topic"] == contract.topic(UNREGISTERED, contract.TAP)
        assert dead["reason"] == "unknown_device", dead
    finally:
        pool.stop()
        gw.stop()
        deadletters.close()


def _firmware_client(secured: Secured, ca: Path) -> MQTTClient:
    cfg = fwconfig.parse(
        json.dumps(
            {
                "device": STATION,
                "wifi_ssid": "school-iot",
                "wifi_password": "x",
                "broker": f"mqtts://{HOST}:{secured.tls_port}",
                "mqtt_user": STATION,
                "mqtt_password": secured.logins[STATION],
                "ca_pem": ca.read_text(),
                "site_key": "00" * 16,
            }
        )
    )
    return client_for(cfg)


def test_the_firmwares_client_over_tls(secured: Secured) -> None:
    """The device's own MQTT client (pletfri_fw, here under CPython) logs in over TLS with
    the CA from its config, and is refused by a broker its CA did not sign."""
    acked: list[int] = []
    c = _firmware_client(secured, secured.ca.cert)
    c.on_puback = acked.append
    now = int(time.time() * 1000)
    c.open(contract.topic(STATION, contract.STATUS), b"offline", now)
    try:
        pid = c.publish(contract.topic(STATION, contract.HEARTBEAT), b'{"v":1}', 1)
        deadline = time.monotonic() + TIMEOUT
        while not acked and time.monotonic() < deadline:
            c.poll(int(time.time() * 1000))
            time.sleep(0.01)
        assert acked == [pid]
    finally:
        c.close()
    stranger = _firmware_client(secured, secured.other_ca.cert)
    with pytest.raises(ssl.SSLCertVerificationError):
        stranger.open(contract.topic(STATION, contract.STATUS), b"offline", now)
    with pytest.raises(fwconfig.ConfigError, match="needs ca_pem"):
        fwconfig.parse(json.dumps({"device": STATION, "wifi_ssid": "s", "wifi_password": "p",
                                   "broker": "mqtts://broker", "site_key": "00" * 16}))  # fmt: skip
