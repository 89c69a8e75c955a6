"""Helpers for the gateway tests: a registry, a publishing device fleet, waiting, counting."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pletfri.influx import Influx
from pletfri.services import Stack
from pletfri.settings import Settings, load_settings
from pletfri_fw import contract

T = TypeVar("T")

STATIONS = [f"nfc-00000000{i:04x}" for i in range(4)]
SENSORS = [f"occ-00000000{i:04x}" for i in range(8)]
CARD = "0123456789abcdef"


def write_registry(s: Settings, extra_cards: tuple[str, ...] = ()) -> None:
    rows = ["device,kind,building,room,room_type"]
    rows += [f"{d},station,b001,b001-r{i:02d},classroom" for i, d in enumerate(STATIONS)]
    rows += [f"{d},sensor,b001,b001-r{i:02d},classroom" for i, d in enumerate(SENSORS)]
    s.gateway.registry_file.parent.mkdir(parents=True, exist_ok=True)
    s.gateway.registry_file.write_text("\n".join(rows) + "\n")
    cards = ["card,role", f"{CARD},cleaner", *(f"{c},trainee" for c in extra_cards)]
    (s.gateway.registry_file.parent / "cards.csv").write_text("\n".join(cards) + "\n")


def tune(s: Settings) -> Settings:
    """Short batch interval: tests look at InfluxDB within a second."""
    s.gateway.batch_interval_s = 0.1
    s.gateway.stats_interval_s = 3600
    return s


def wait_for(predicate: Callable[[], T], timeout: float = 15.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s (last: {result!r})")
        time.sleep(0.05)


def count(influx: Influx, measurement: str, field: str, where: str = "") -> int:
    rows = influx.query(f'SELECT count("{field}") FROM "{measurement}" {where}')
    return int(rows[0]["count"]) if rows else 0


class Fleet:
    """One MQTT client publishing as any device; also collects what comes back."""

    def __init__(self, s: Settings, client_id: str = "test-fleet") -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.client.on_message = lambda c, u, m: self.received.put((m.topic, m.payload))
        self.client.connect(s.mqtt.host, s.mqtt.port)
        self.client.loop_start()
        self.infos: list[mqtt.MQTTMessageInfo] = []

    def subscribe(self, topic: str) -> None:
        done = queue.Queue[int]()
        self.client.on_subscribe = lambda *a: done.put(1)
        self.client.subscribe(topic, qos=1)
        done.get(timeout=5)

    def send(self, topic: str, payload: dict[str, Any] | bytes | str, qos: int = 1) -> None:
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        self.infos.append(self.client.publish(topic, payload, qos=qos))

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until the broker has acknowledged everything sent."""
        for info in self.infos:
            info.wait_for_publish(timeout)
        self.infos.clear()

    def next(self, timeout: float = 5.0) -> tuple[str, dict[str, Any]]:
        topic, payload = self.received.get(timeout=timeout)
        return topic, json.loads(payload)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def own_settings(stack: Stack, tmp: Path, db: str, **gateway: Any) -> Settings:
    Influx(load_settings(**stack.settings_overrides()).influx).query(f'CREATE DATABASE "{db}"')
    overrides = stack.settings_overrides()
    overrides["influx"]["database"] = db
    s = load_settings(
        **overrides,
        gateway={
            "registry_file": tmp / "registry" / "devices.csv",
            "state_dir": tmp / "gateway",
            "client_id": f"gw-{db}",
            **gateway,
        },
    )
    write_registry(s)
    return tune(s)


def occupancy(boot: int, seq: int, motion: int, ts: int | None = None) -> dict[str, Any]:
    rec = contract.period_record(900, motion=motion, ts=ts)
    return contract.occupancy_payload(boot, seq, [rec], ts=ts)


def stream(fleet: Fleet, start: int, n: int, rate: float = 2000.0) -> None:
    """Undated one-period occupancy messages, seq start..start+n-1, paced at `rate`/s.

    Undated points are stamped on receipt, so a message stored twice would show up as
    two points: counting them checks "exactly once".
    """
    t0 = time.monotonic()
    for i in range(start, start + n):
        fleet.send(
            contract.topic(SENSORS[i % len(SENSORS)], contract.OCCUPANCY), occupancy(1, i, i % 7)
        )
        ahead = (i - start + 1) / rate - (time.monotonic() - t0)
        if ahead > 0.005:
            time.sleep(ahead)


def check_stream(influx: Influx, n: int, timeout: float = 60.0) -> None:
    """All n messages of `stream(..., 0, n)` are in InfluxDB, each exactly once."""
    wait_for(lambda: count(influx, "occupancy", "motion") >= n, timeout, f"{n} occupancy points")
    time.sleep(0.5)  # a double would arrive after the last original
    assert count(influx, "occupancy", "motion") == n
    rows = influx.query('SELECT sum("motion") FROM occupancy')
    assert rows[0]["sum"] == sum(i % 7 for i in range(n))
