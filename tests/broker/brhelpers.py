"""The broker tests' devices, a Mosquitto with the files `pletfri broker` writes, and a probe
client that records the broker's answers."""

from __future__ import annotations

import queue
import ssl
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from brcerts import Pair
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from backend.broker.acl import GATEWAY, AclDevice
from pletfri.services import Mosquitto
from pletfri.settings import BrokerSettings

STATION, OTHER, SENSOR = "nfc-000000000001", "nfc-000000000002", "occ-000000000001"
STICKER = "tag-000000000001"
# Has a login and ACL rights but is missing from the gateway's devices.csv.
UNREGISTERED = "nfc-0000000000ff"
DEVICES = [
    AclDevice(STATION, "station"),
    AclDevice(OTHER, "station"),
    AclDevice(SENSOR, "sensor"),
    AclDevice(UNREGISTERED, "station"),
    AclDevice(STICKER, "sticker"),
]
# Server certificates name the broker's host; the tests reach it as "localhost".
HOST = "localhost"
TIMEOUT = 5.0


@dataclass
class Secured:
    mosquitto: Mosquitto
    files: BrokerSettings
    logins: dict[str, str]
    ca: Pair
    other_ca: Pair

    @property
    def port(self) -> int:
        return self.mosquitto.port

    @property
    def tls_port(self) -> int:
        return self.mosquitto.tls_port


class Probe:
    """One MQTT v5 client that records every answer the broker gives it."""

    def __init__(
        self,
        port: int,
        user: str | None = None,
        password: str | None = None,
        client_id: str = "",
        ca: Path | None = None,
        host: str = HOST,
    ) -> None:
        self.host, self.port = host, port
        c = self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        if user is not None:
            c.username_pw_set(user, password)
        if ca is not None:
            c.tls_set(ca_certs=str(ca))
        self.connacks: queue.Queue[ReasonCode] = queue.Queue()
        self.subacks: queue.Queue[list[ReasonCode]] = queue.Queue()
        self.pubacks: queue.Queue[tuple[int, ReasonCode]] = queue.Queue()
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.disconnected: queue.Queue[ReasonCode] = queue.Queue()
        c.on_connect = lambda cl, u, f, rc, p: self.connacks.put(rc)
        c.on_subscribe = lambda cl, u, mid, rcs, p: self.subacks.put(rcs)
        c.on_publish = lambda cl, u, mid, rc, p: self.pubacks.put((mid, rc))
        c.on_message = lambda cl, u, m: self.messages.put((m.topic, m.payload))
        c.on_disconnect = lambda cl, u, f, rc, p: self.disconnected.put(rc)

    def connect(self) -> ReasonCode:
        self.client.connect(self.host, self.port, 30)
        self.client.loop_start()
        return self.connacks.get(timeout=TIMEOUT)

    def subscribe(self, topic: str, retained: bool = True) -> ReasonCode:
        handling = (
            SubscribeOptions.RETAIN_SEND_ON_SUBSCRIBE
            if retained
            else SubscribeOptions.RETAIN_DO_NOT_SEND
        )
        self.client.subscribe(topic, options=SubscribeOptions(qos=1, retainHandling=handling))
        return self.subacks.get(timeout=TIMEOUT)[0]

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> ReasonCode:
        """Publish at QoS 1; the PUBACK's reason code (0x87: the ACL said no)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        mid, rc = self.pubacks.get(timeout=TIMEOUT)
        assert mid == info.mid
        return rc

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def tls_error(port: int, ca: Path, host: str) -> ssl.SSLError:
    """The error connecting over TLS to `host` with `ca` ends in (none: pytest fails)."""
    p = Probe(port, GATEWAY, "irrelevant", ca=ca, host=host)
    with pytest.raises(ssl.SSLError) as e:
        p.client.connect(host, port, 30)
    return e.value
