"""Tap to `ack` latency at the station's side, under background load.

    .venv/bin/python bench/gateway_ack.py [--background 1000] [--seconds 30] [--taps-per-s 20]

The gateway runs as `pletfri gateway run` (its own process, default settings). A paced
QoS 1 publisher (its own process) sends the device mix of bench/gateway_load.py at
`--background` msg/s. Meanwhile a station client (this process) taps `--taps-per-s`
times a second on probe stations and times each tap from its QoS 1 publish to the
arrival of the matching `ack` (boot, seq) through the broker: the latency a person at
the station sees, minus the station's own NFC read and LED.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from gateway_load import CARD, gateway_process, messages, start_publisher, write_registry
from paho.mqtt.enums import CallbackAPIVersion

from gateway.mqtt_client import Client
from pletfri.services import Stack
from pletfri.settings import load_settings
from pletfri_fw import contract

PROBES = [f"nfc-ffff0000{i:04x}" for i in range(10)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--background", type=float, default=1000.0, help="background msg/s")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--taps-per-s", type=float, default=20.0)
    ap.add_argument(
        "--broker-nodelay",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Mosquitto's set_tcp_nodelay (on in the server runner; off in Mosquitto)",
    )
    ap.add_argument("--run-dir", type=Path, default=Path("run/bench-gateway-ack"))
    args = ap.parse_args()
    shutil.rmtree(args.run_dir, ignore_errors=True)
    stack = Stack(args.run_dir / "servers")
    stack.mosquitto.tcp_nodelay = args.broker_nodelay
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(stack.stop)
        stack.start()
        s = load_settings(
            **stack.settings_overrides(),
            gateway={
                "registry_file": args.run_dir / "registry" / "devices.csv",
                "state_dir": args.run_dir / "gateway",
                "client_id": "bench-gateway-ack",
            },
        )
        write_registry(s)
        with s.gateway.registry_file.open("a") as f:
            f.writelines(f"{p},station,b999,probe{i},office\n" for i, p in enumerate(PROBES))
        gw = gateway_process(s, args.run_dir / "gateway.log")
        sent: dict[int, float] = {}
        latencies: list[float] = []
        lock = threading.Lock()

        def on_ack(c: mqtt.Client, u: object, m: mqtt.MQTTMessage) -> None:
            t = time.perf_counter()
            seq = json.loads(m.payload)["seq"]
            with lock:
                if seq in sent:
                    latencies.append((t - sent.pop(seq)) * 1000)

        # The station's side without Nagle's delay, as the gateway's (gateway/mqtt_client.py).
        station = Client(
            CallbackAPIVersion.VERSION2, client_id="bench-station", protocol=mqtt.MQTTv5
        )
        station.on_message = on_ack
        station.connect("127.0.0.1", s.mqtt.port)
        station.loop_start()
        for p in PROBES:
            station.subscribe(contract.topic(p, contract.ACK), qos=1)
        time.sleep(2.0)
        n_bg = int(args.background * (args.seconds + 5))
        bg, _ = messages(n_bg, 1, int(time.time() * 1000) - 30 * 24 * 3_600_000)
        pub, pq = start_publisher(s.mqtt.port, args.background, bg)
        time.sleep(2.0)  # let the background reach its pace
        n = int(args.taps_per_s * args.seconds)
        t0 = time.monotonic()
        try:
            for seq in range(n):
                probe = PROBES[seq % len(PROBES)]
                payload = json.dumps(contract.tap_payload(1, seq, CARD, int(time.time() * 1000)))
                with lock:
                    sent[seq] = time.perf_counter()
                station.publish(contract.topic(probe, contract.TAP), payload, qos=1)
                ahead = (seq + 1) / args.taps_per_s - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
            time.sleep(2.0)
            pq.get(timeout=120)
            pub.join()
        finally:
            station.loop_stop()
            station.disconnect()
            gw.terminate()
            gw.wait(60)
    lat = sorted(latencies)
    q = statistics.quantiles(lat, n=100)
    print(
        f"background {args.background:,.0f} msg/s, {n} taps over {args.seconds:.0f} s: "
        f"{len(lat)} acked, {n - len(lat)} missing; tap to ack p50 {q[49]:.1f} ms, "
        f"p90 {q[89]:.1f} ms, p99 {q[98]:.1f} ms, max {lat[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
