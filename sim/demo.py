"""The demo: the real servers, the real gateway, a station's tap stored and acknowledged.

This is the first slice; the simulated municipality (issue 7) grows out of it.
"""

from __future__ import annotations

import json
import queue
import shutil
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from rich.console import Console
from rich.table import Table

from gateway.service import Gateway
from pletfri.influx import Influx
from pletfri.services import running_stack
from pletfri.settings import Settings, load_settings
from pletfri_fw import contract
from pletfri_fw.pseudonym import Pseudonymiser

DEVICE = "nfc-a4cf12f0b3c1"


def run_demo(base: Settings) -> None:
    console = Console()
    run_dir = base.run.dir.resolve() / "demo"
    # Each demo run starts fresh: old data would make its figures meaningless.
    shutil.rmtree(run_dir, ignore_errors=True)
    with running_stack(run_dir / "servers") as stack:
        console.print(
            f"[bold]servers[/] mosquitto 127.0.0.1:{stack.mosquitto.port}, "
            f"influxdb {stack.influxdb.url}"
        )
        s = load_settings(
            **stack.settings_overrides(),
            gateway={
                "registry_file": run_dir / "devices.csv",
                "state_dir": run_dir / "gateway",
            },
        )
        s.gateway.registry_file.write_text(
            f"device,kind,building,room,room_type\n{DEVICE},station,b001,b001-r101,classroom\n"
        )
        gw = Gateway(s)
        gw.start()
        gw.connected.wait(5)
        acks: queue.Queue[bytes] = queue.Queue()
        station = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=DEVICE, protocol=mqtt.MQTTv5)
        station.on_message = lambda c, u, m: acks.put(m.payload)
        station.connect(s.mqtt.host, s.mqtt.port)
        station.loop_start()
        station.subscribe(contract.topic(DEVICE, contract.ACK), qos=1)
        time.sleep(0.2)
        card = Pseudonymiser(b"demo-site-key").card(bytes.fromhex("04a1b2c3d4e5f6"))
        payload = contract.tap_payload(1, 1, card, int(time.time() * 1000))
        t0 = time.perf_counter()
        station.publish(contract.topic(DEVICE, contract.TAP), json.dumps(payload), qos=1)
        ack = acks.get(timeout=5)
        latency_ms = (time.perf_counter() - t0) * 1000
        console.print(
            f"[bold]tap[/] {DEVICE} card {card} -> ack {ack.decode()} in {latency_ms:.1f} ms"
        )
        station.loop_stop()
        station.disconnect()
        gw.stop()
        with Influx(s.influx) as influx:
            rows = influx.query("SELECT * FROM tap")
        table = Table(title=f"InfluxDB {s.influx.url} db {s.influx.database}: SELECT * FROM tap")
        for col in rows[0] if rows else []:
            table.add_column(col)
        for row in rows:
            table.add_row(*(str(v) for v in row.values()))
        console.print(table)
