"""Attacks on the real Mosquitto with the password file and ACL `pletfri broker` writes:
each is refused by the broker (CONNACK, SUBACK or PUBACK reason code) and nothing of it
reaches a client with full read rights."""

from __future__ import annotations

import queue
import time

import pytest
from brhelpers import (
    OTHER,
    SENSOR,
    STATION,
    STICKER,
    TIMEOUT,
    Probe,
    Secured,
)
from typer.testing import CliRunner

from backend.broker.acl import BACKEND, GATEWAY
from pletfri.cli import app as cli
from pletfri.settings import as_environment, load_settings
from pletfri_fw import contract
from pletfri_fw.mqtt_client import MQTTClient

NOT_AUTHORIZED = 0x87
SUCCESS = 0


def login(secured: Secured, probes: list[Probe], user: str, client_id: str = "") -> Probe:
    p = Probe(secured.port, user, secured.logins[user], client_id or f"t-{user}-{len(probes)}")
    probes.append(p)
    rc = p.connect()
    assert rc.value < 0x80, (user, rc)
    return p


def watcher(secured: Secured, probes: list[Probe]) -> Probe:
    """The gateway's account: reads every device's topics."""
    w = login(secured, probes, GATEWAY)
    assert w.subscribe(contract.DEV_ROOT + "#", retained=False).value < 0x80
    return w


def received(w: Probe, until_topic: str) -> list[str]:
    """Topics `w` got up to and including `until_topic` (a message sent last, allowed)."""
    got = []
    while True:
        topic, _ = w.messages.get(timeout=TIMEOUT)
        got.append(topic)
        if topic == until_topic:
            return got


def test_a_device_cannot_publish_for_another(secured: Secured, probes: list[Probe]) -> None:
    w = watcher(secured, probes)
    attacker = login(secured, probes, STATION)
    forged = [
        contract.topic(OTHER, contract.TAP),  # a visit in someone else's room
        contract.topic(OTHER, contract.STATUS),  # another station "offline"
        contract.topic(SENSOR, contract.OCCUPANCY),
        contract.topic(STICKER, contract.TAP),  # a sticker's tap: only the backend's
        contract.topic(STATION, contract.NEED),  # its own light: only the backend's
        contract.topic(STATION, contract.CONFIG),
        contract.topic(OTHER, contract.ACK),  # a fake answer to another station
        contract.DEADLETTER_TOPIC,
        contract.ALERTS_ROOT + "b001",
        "pletfri/v1/dev/nfc-000000000002/tap/extra",
        "elsewhere/topic",
    ]
    for topic in forged:
        assert attacker.publish(topic, '{"v":1}').value == NOT_AUTHORIZED, topic
    own = contract.topic(STATION, contract.TAP)
    assert attacker.publish(own, '{"v":1}').value < 0x80
    # Messages from one client arrive in order: had a forged one passed, it came first.
    assert received(w, own) == [own]


def test_a_device_cannot_read_another_devices_downlink(
    secured: Secured, probes: list[Probe]
) -> None:
    """Mosquitto 2.0's ACL file grants every SUBSCRIBE and checks read rights on each
    message it would deliver, retained ones included: the spy gets nothing not its own."""
    backend = login(secured, probes, BACKEND)
    for device in (OTHER, STATION):  # retained, waiting before the spy subscribes
        assert backend.publish(contract.topic(device, contract.NEED), device, True).value < 0x80
        assert backend.publish(contract.topic(device, contract.CONFIG), device, True).value < 0x80
    spy = login(secured, probes, STATION)
    filters = [contract.topic(OTHER, ch) for ch in contract.DOWNLINK]
    filters += ["pletfri/v1/dev/+/ack", "pletfri/v1/dev/+/need", "pletfri/v1/#", "#", "$SYS/#"]
    for f in filters:
        assert spy.subscribe(f).value < 0x80, f
    gateway = login(secured, probes, GATEWAY)
    assert gateway.publish(contract.topic(OTHER, contract.ACK), b"theirs").value < 0x80
    mine = contract.topic(STATION, contract.ACK)
    assert gateway.publish(mine, b"mine").value < 0x80
    got = []
    while not got or got[-1] != (mine, b"mine"):
        got.append(spy.messages.get(timeout=TIMEOUT))
    assert {payload for _, payload in got} == {STATION.encode(), b"mine"}, got
    assert all(f"/{OTHER}/" not in topic for topic, _ in got)


def test_platform_accounts_have_only_their_own_rights(
    secured: Secured, probes: list[Probe]
) -> None:
    w = watcher(secured, probes)
    gateway, backend = w, login(secured, probes, BACKEND)
    # The gateway answers taps; it cannot make up device messages or set lights.
    assert gateway.publish(contract.topic(STATION, contract.TAP), "{}").value == NOT_AUTHORIZED
    assert gateway.publish(contract.topic(STATION, contract.NEED), "{}").value == NOT_AUTHORIZED
    # The backend speaks for stickers only, not for a station.
    assert backend.publish(contract.topic(STATION, contract.TAP), "{}").value == NOT_AUTHORIZED
    assert backend.publish(contract.topic(STATION, contract.ACK), "{}").value == NOT_AUTHORIZED
    assert backend.publish(contract.topic(STATION, contract.NEED), "{}").value < 0x80
    sticker_tap = contract.topic(STICKER, contract.TAP)
    assert backend.publish(sticker_tap, "{}").value < 0x80
    assert received(w, sticker_tap) == [contract.topic(STATION, contract.NEED), sticker_tap]
    # It reads the stickers' acks, not the stations'.
    assert backend.subscribe("pletfri/v1/dev/+/ack").value < 0x80
    sticker_ack = contract.topic(STICKER, contract.ACK)
    assert gateway.publish(contract.topic(STATION, contract.ACK), "{}").value < 0x80
    assert gateway.publish(sticker_ack, "{}").value < 0x80
    assert backend.messages.get(timeout=TIMEOUT)[0] == sticker_ack


@pytest.mark.parametrize(
    ("user", "password", "code"),
    [
        (None, None, NOT_AUTHORIZED),  # anonymous
        (STATION, "wrong", NOT_AUTHORIZED),
        (STATION, "", NOT_AUTHORIZED),
        ("nfc-0000000000aa", "guess", NOT_AUTHORIZED),  # no such user
        (STICKER, "guess", NOT_AUTHORIZED),  # a sticker has no login
    ],
)
def test_anonymous_and_wrong_logins_are_refused(
    secured: Secured, user: str | None, password: str | None, code: int
) -> None:
    p = Probe(secured.port, user, password, "t-refused")
    try:
        assert p.connect().value == code
    finally:
        p.close()


def test_a_device_logged_in_as_another_is_refused(secured: Secured) -> None:
    """The right password under the wrong name (a stolen config copied to a clone)."""
    p = Probe(secured.port, OTHER, secured.logins[STATION], "t-clone")
    try:
        assert p.connect().is_failure
    finally:
        p.close()


def test_a_revoked_device_is_dropped_and_refused_after_reload(
    secured: Secured, probes: list[Probe]
) -> None:
    victim = "nfc-0000000000ff"
    p = login(secured, probes, victim, "t-revoked")
    env = as_environment(load_settings(broker=secured.files.model_dump()))
    r = CliRunner().invoke(cli, ["broker", "revoke", victim, "--reload"], env=env)
    assert r.exit_code == 0, r.output
    assert "reloads" in r.output
    # Mosquitto checks the connected clients against the new file: this one goes.
    rc = p.disconnected.get(timeout=TIMEOUT)
    assert rc.is_failure
    p.client.loop_stop()
    again = Probe(secured.port, victim, secured.logins[victim], "t-revoked-again")
    try:
        assert again.connect().is_failure
    finally:
        again.close()
    # Everyone else keeps their connection through the reload.
    other = login(secured, probes, STATION)
    assert other.publish(contract.topic(STATION, contract.HEARTBEAT), "{}").value < 0x80
    r = CliRunner().invoke(cli, ["broker", "revoke", victim], env=env)
    assert r.exit_code == 1 and "has no login" in r.output
    with pytest.raises(queue.Empty):
        probes[0].disconnected.get_nowait()


def test_gateways_sharing_the_load_read_through_a_shared_subscription(
    secured: Secured, probes: list[Probe]
) -> None:
    """gateway.shared_group: $share/<group>/... needs no ACL line of its own."""
    gw = login(secured, probes, GATEWAY)
    assert gw.subscribe("$share/pletfri/" + contract.subscription(), retained=False).value < 0x80
    device = login(secured, probes, SENSOR)
    topic = contract.topic(SENSOR, contract.HEARTBEAT)
    assert device.publish(topic, b"{}").value < 0x80
    assert gw.messages.get(timeout=TIMEOUT) == (topic, b"{}")


def test_the_firmwares_mqtt_311_client_is_held_to_its_topics_too(
    secured: Secured, probes: list[Probe]
) -> None:
    """MQTT 3.1.1 has no reason codes: Mosquitto acknowledges a forbidden QoS 1 publish
    (so a device does not resend it forever) and drops it."""
    w = watcher(secured, probes)
    c = MQTTClient("127.0.0.1", secured.port, STATION, STATION, secured.logins[STATION])
    acked: list[int] = []
    c.on_puback = acked.append
    c.open(contract.topic(STATION, contract.STATUS), b"offline", 0)
    try:
        forged = c.publish(contract.topic(OTHER, contract.TAP), b"{}", 1)
        own = c.publish(contract.topic(STATION, contract.TAP), b"{}", 1)
        deadline = time.monotonic() + TIMEOUT
        while len(acked) < 2 and time.monotonic() < deadline:
            c.poll(0)
            time.sleep(0.01)
        assert acked == [forged, own]
    finally:
        c.close()
    assert received(w, contract.topic(STATION, contract.TAP)) == [
        contract.topic(STATION, contract.TAP)
    ]


def test_a_device_cannot_take_over_another_clients_session(
    secured: Secured, probes: list[Probe]
) -> None:
    """MQTT lets a new connection with a client's id disconnect that client. On the
    devices' listener the id is the login (use_username_as_clientid), so a device that
    claims another's id is itself: the victim stays connected. On a listener without it
    (the platform's own) the same attempt disconnects the victim: devices never get one."""
    victim = Probe(secured.tls_port, OTHER, secured.logins[OTHER], OTHER, secured.ca.cert)
    probes.append(victim)
    assert not victim.connect().is_failure
    for claimed in (OTHER, "pletfri-gateway-1"):
        thief = Probe(secured.tls_port, STATION, secured.logins[STATION], claimed, secured.ca.cert)
        probes.append(thief)
        assert not thief.connect().is_failure
    time.sleep(0.5)
    assert victim.disconnected.empty()
    assert victim.publish(contract.topic(OTHER, contract.HEARTBEAT), "{}").value < 0x80
