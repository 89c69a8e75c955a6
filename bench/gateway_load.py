"""Load for the gateway benchmarks: a fleet's registry, its message mix, a paced publisher.

The mix is what devices really send (CONTRACT.md): 80 % occupancy messages of four
15-minute periods (a sensor waking hourly), 15 % heartbeats, 5 % taps, from 5,000
sensors and 1,200 stations. Every message is dated in the past and unique per device,
so each point is its own and nothing overwrites anything in InfluxDB.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pletfri.settings import Settings, as_environment
from pletfri_fw import contract

SENSORS = [f"occ-{i:012x}" for i in range(5000)]
STATIONS = [f"nfc-{i:012x}" for i in range(1200)]
CARD = "0123456789abcdef"
HOUR_MS = 3_600_000
# Points per message of the mix: 0.80 x 4 + 0.15 + 0.05.
POINTS_PER_MESSAGE = 3.4


def write_registry(s: Settings) -> None:
    rows = ["device,kind,building,room,room_type"]
    rows += [f"{d},sensor,b{i % 155:03d},r{i},classroom" for i, d in enumerate(SENSORS)]
    rows += [f"{d},station,b{i % 155:03d},r{i},classroom" for i, d in enumerate(STATIONS)]
    s.gateway.registry_file.parent.mkdir(parents=True, exist_ok=True)
    s.gateway.registry_file.write_text("\n".join(rows) + "\n")
    (s.gateway.registry_file.parent / "cards.csv").write_text(f"card,role\n{CARD},cleaner\n")


def messages(n: int, boot: int, base_ms: int) -> tuple[list[tuple[str, bytes]], int]:
    """n messages of the mix and the points they make; `boot` keeps rounds apart."""
    out: list[tuple[str, bytes]] = []
    pts = 0
    for i in range(n):
        kind = i % 20
        if kind < 16:
            dev = SENSORS[i % len(SENSORS)]
            t = base_ms + (i // len(SENSORS)) * HOUR_MS
            periods = [
                contract.period_record(900, motion=j, presence_s=60 * j, ts=t - (3 - j) * 900_000)
                for j in range(4)
            ]
            topic, body = contract.OCCUPANCY, contract.occupancy_payload(boot, i, periods, t)
            pts += 4
        elif kind < 19:
            dev = STATIONS[i % len(STATIONS)] if kind == 18 else SENSORS[(i * 7) % len(SENSORS)]
            t = base_ms + (i // 20) * 1000 + 7
            body = contract.heartbeat_payload(boot, i, {"batt_mv": 2900, "rssi": -60}, t)
            topic = contract.HEARTBEAT
            pts += 1
        else:
            dev = STATIONS[i % len(STATIONS)]
            t = base_ms + (i // 20) * 1000 + 11
            topic, body = contract.TAP, contract.tap_payload(boot, i, CARD, t)
            pts += 1
        out.append((contract.topic(dev, topic), json.dumps(body, separators=(",", ":")).encode()))
    return out, pts


def _publish(port: int, rate: float, msgs: list[tuple[str, bytes]], result: mp.Queue) -> None:
    acked = [0]
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}", protocol=mqtt.MQTTv5
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.on_publish = lambda *a: acked.__setitem__(0, acked[0] + 1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    t0 = time.monotonic()
    for i, (topic, payload) in enumerate(msgs):
        client.publish(topic, payload, qos=1)
        ahead = (i + 1) / rate - (time.monotonic() - t0)
        if ahead > 0.002:
            time.sleep(ahead)
    t_sent = time.monotonic()
    deadline = t_sent + 120
    while acked[0] < len(msgs) and time.monotonic() < deadline:
        time.sleep(0.01)
    result.put({"t0": t0, "t_sent": t_sent, "t_acked": time.monotonic(), "acked": acked[0]})
    client.disconnect()
    client.loop_stop()


def start_publisher(
    port: int, rate: float, msgs: list[tuple[str, bytes]]
) -> tuple[mp.Process, mp.Queue]:
    """A paced QoS 1 publisher in a process of its own (the messages are made beforehand)."""
    q: mp.Queue = mp.Queue()
    p = mp.get_context("fork").Process(target=_publish, args=(port, rate, msgs, q), daemon=True)
    p.start()
    return p, q


def gateway_process(s: Settings, log: Path) -> subprocess.Popen[bytes]:
    """`pletfri gateway run` as production runs it: its own process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLETFRI_")}
    env.update(as_environment(s), PLETFRI_LOG_LEVEL="WARNING")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from pletfri.cli import main; main()", "gateway", "run"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
