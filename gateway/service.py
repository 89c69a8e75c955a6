"""The gateway process: MQTT in, InfluxDB out, an `ack` back to each tap."""

from __future__ import annotations

import json
import logging
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.points import tap_lines
from gateway.registry import DeviceRegistry
from gateway.validate import Message, Rejected, parse
from pletfri.influx import Influx
from pletfri.settings import Settings
from pletfri_fw import contract

log = logging.getLogger(__name__)


class Gateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = DeviceRegistry(settings.gateway.registry_file)
        self.influx = Influx(settings.influx)
        self.need: dict[str, str] = {}
        self.connected = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.gateway.client_id,
            protocol=mqtt.MQTTv5,
        )
        if settings.mqtt.username:
            self.client.username_pw_set(settings.mqtt.username, settings.mqtt.password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        prefix = (
            f"$share/{self.settings.gateway.shared_group}/"
            if self.settings.gateway.shared_group
            else ""
        )
        client.subscribe(
            [(prefix + contract.subscription(), 1), (contract.subscription(contract.NEED), 1)]
        )
        log.info("connected to %s:%d", self.settings.mqtt.host, self.settings.mqtt.port)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:  # type: ignore[no-untyped-def]
        # Ready only once the broker has the subscription: earlier publishes would be missed.
        self.connected.set()

    def _on_message(self, client, userdata, m: mqtt.MQTTMessage) -> None:  # type: ignore[no-untyped-def]
        now_ms = int(time.time() * 1000)
        parts = contract.parse_topic(m.topic)
        if parts and parts[1] in contract.DOWNLINK:
            if parts[1] == contract.NEED:
                self._remember_need(parts[0], m.payload)
            return
        try:
            msg = parse(m.topic, m.payload, now_ms)
        except Rejected as e:
            self._deadletter(m.topic, m.payload, e)
            return
        self.handle(msg)

    def _remember_need(self, device: str, raw: bytes) -> None:
        try:
            self.need[device] = json.loads(raw)["need"]
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed retained need for %s", device)

    def _deadletter(self, topic: str, raw: bytes, e: Rejected) -> None:
        log.warning("rejected %s: %s", topic, e)
        body = {
            "topic": topic,
            "reason": e.reason,
            "detail": e.detail,
            "excerpt": raw[:200].decode("utf-8", "replace"),
        }
        self.client.publish(contract.DEADLETTER_TOPIC, json.dumps(body), qos=1)

    def handle(self, msg: Message) -> None:
        dev = self.registry.get(msg.device)
        if dev is None:
            self._deadletter(
                contract.topic(msg.device, msg.channel),
                json.dumps(msg.payload).encode(),
                Rejected("unknown_device", f"{msg.device} is not in the registry"),
            )
            return
        if msg.channel == contract.TAP:
            self.influx.write(tap_lines(msg, dev))
            ack = contract.ack_payload(
                msg.boot, msg.seq, contract.ACK_OK, self.need.get(msg.device, contract.NEED_UNKNOWN)
            )
            self.client.publish(contract.topic(msg.device, contract.ACK), json.dumps(ack), qos=1)

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.settings.gateway.session_expiry_s
        self.client.connect(
            self.settings.mqtt.host,
            self.settings.mqtt.port,
            keepalive=self.settings.mqtt.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.influx.close()
