"""The need of each room on its station's retained `need` topic and as `need` points.

The gateway keeps the retained messages and answers each tap's `ack` with the room's need
(CONTRACT.md), so a station shows "clean" or "skip" at once, even right after a restart.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from backend.cleaning.planner import Need
from backend.registry import PlacedDevice
from pletfri.settings import MqttSettings
from pletfri_fw import contract


class NeedPublishError(Exception):
    pass


def messages(stations: list[PlacedDevice], found: Mapping[str, Need]) -> list[tuple[str, bytes]]:
    """(topic, payload) for each station whose room has a need."""
    out = []
    for s in stations:
        n = found.get(s.room)
        if n is None:
            continue
        payload = contract.need_payload(
            contract.NEED_CLEAN if n.due else contract.NEED_SKIP, n.score, n.since_ms
        )
        out.append((contract.topic(s.device, contract.NEED), json.dumps(payload).encode()))
    return out


def publish(settings: MqttSettings, items: list[tuple[str, bytes]], timeout_s: float = 30.0) -> int:
    """Publish retained at QoS 1 and wait for the broker's acknowledgements; return the count."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    if settings.username:
        client.username_pw_set(settings.username, settings.password)
    if settings.tls:
        client.tls_set(ca_certs=str(settings.ca_file) if settings.ca_file else None)
    # Enough in flight that thousands of stations do not wait a round trip each.
    client.max_inflight_messages_set(1000)
    ready = threading.Event()
    client.on_connect = lambda c, u, f, reason, p: reason.is_failure or ready.set()
    try:
        client.connect(settings.host, settings.port, keepalive=settings.keepalive_s)
    except OSError as e:
        raise NeedPublishError(f"MQTT broker {settings.host}:{settings.port}: {e}") from e
    client.loop_start()
    try:
        if not ready.wait(timeout_s):
            raise NeedPublishError(
                f"MQTT broker {settings.host}:{settings.port} did not accept the connection"
            )
        infos = [client.publish(topic, payload, qos=1, retain=True) for topic, payload in items]
        for info in infos:
            info.wait_for_publish(timeout_s)
            if not info.is_published():
                raise NeedPublishError(
                    f"MQTT broker {settings.host}:{settings.port} did not acknowledge the need "
                    f"topics within {timeout_s} s; they are published again on the next run"
                )
        return len(infos)
    except (RuntimeError, ValueError) as e:
        raise NeedPublishError(f"publishing need topics failed: {e}") from e
    finally:
        client.disconnect()
        client.loop_stop()
