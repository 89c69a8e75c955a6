"""Alerts as JSON on `pletfri/v1/alerts/{building}` (QoS 1), for machines and dashboards."""

from __future__ import annotations

import json
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from backend.alerts.channels import ChannelError
from pletfri.settings import AlertsSettings, MqttSettings


class MqttChannel:
    name = "mqtt"

    def __init__(self, mqtt_settings: MqttSettings, settings: AlertsSettings) -> None:
        self.mqtt = mqtt_settings
        self.timeout_s = settings.send_timeout_s
        self.client: mqtt.Client | None = None

    def _connected(self) -> mqtt.Client:
        # One connection for many messages; rebuilt after any failure.
        if self.client is not None and self.client.is_connected():
            return self.client
        self.close()
        m = self.mqtt
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if m.username:
            client.username_pw_set(m.username, m.password)
        if m.tls:
            client.tls_set(ca_certs=str(m.ca_file) if m.ca_file else None)
        ready = threading.Event()
        client.on_connect = lambda c, u, f, reason, p: reason.is_failure or ready.set()
        client.connect(m.host, m.port, keepalive=m.keepalive_s)
        client.loop_start()
        self.client = client
        if not ready.wait(self.timeout_s):
            self.close()
            raise ChannelError(f"MQTT broker {m.host}:{m.port} did not accept the connection")
        return client

    def send(self, address: str, message: dict[str, Any]) -> None:
        info = self._connected().publish(address, json.dumps(message), qos=1)
        try:
            info.wait_for_publish(self.timeout_s)
        except (RuntimeError, ValueError) as e:
            self.close()
            raise ChannelError(f"MQTT publish to {address} failed: {e}") from e
        if not info.is_published():
            self.close()
            raise ChannelError(f"MQTT broker did not acknowledge {address} in {self.timeout_s} s")

    def close(self) -> None:
        if self.client is not None:
            self.client.loop_stop()
            self.client.disconnect()
            self.client = None
