"""Several gateways on one broker: 1, 2 and 3 `pletfri gateway run` processes sharing the
load through a shared subscription (`gateway.shared_group`), in one run.

    .venv/bin/python bench/gateway_scale.py [--gateways 1,2,3] [--rate 15000] [--seconds 20]

Same servers, registry, message mix and paced raw-socket QoS 1 publisher as
bench/gateway_ingest.py. For each count of gateways, fresh gateway processes (each its
own client id and spool, all in the group `bench<n>`) take `--rate` msg/s for `--seconds`;
the round runs from the first publish until every point is in InfluxDB (InfluxQL counts
over the round's own time range, polled every 0.1 s). Per gateway: the messages it
accepted (its `gateway` measurement's `accepted`, written every second) and its CPU
time; for all: messages / round time, "tail" (after the last publish), and whether
every point arrived exactly once (count against the messages' own).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gateway_ingest import IDLE_S, ROUND_MS, Meter, cpu_s, stored
from gateway_load import messages, start_publisher, write_registry

from pletfri.influx import Influx
from pletfri.services import pletfri_process, running_stack
from pletfri.settings import Settings, load_settings


def gateway_settings(base: Settings, run: Path, name: str, group: str) -> Settings:
    s = base.model_copy(deep=True)
    s.gateway.client_id = name
    s.gateway.state_dir = run / name
    s.gateway.shared_group = group
    s.gateway.stats_interval_s = 1.0
    return s


def accepted(influx: Influx, names: list[str]) -> dict[str, int]:
    rows = influx.query("SELECT last(accepted) AS accepted FROM gateway GROUP BY gateway")
    got = {r["gateway"]: int(r["accepted"]) for r in rows}
    return {n: got.get(n, 0) for n in names}


def wait_ready(logs: list[Path], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(p.exists() and "subscribed; ready" in p.read_text() for p in logs):
        if time.monotonic() > deadline:
            raise RuntimeError(f"gateways not ready within {timeout:.0f} s: see {logs}")
        time.sleep(0.1)


def one_round(
    base: Settings, run: Path, n: int, rate: float, seconds: float, boot: int, base_ms: int
) -> str:
    names = [f"bench-gw{n}-{i + 1}" for i in range(n)]
    logs = [run / f"{name}.log" for name in names]
    procs = [
        # A group per round: Mosquitto keeps a stopped gateway's persistent session in its
        # group and goes on handing it a share of the messages (docs/operations.md).
        pletfri_process(gateway_settings(base, run, name, f"bench{n}"), ["gateway", "run"], log)
        for name, log in zip(names, logs, strict=True)
    ]
    try:
        wait_ready(logs)
        load = os.getloadavg()
        count = int(rate * seconds)
        since_ms = base_ms + boot * ROUND_MS
        msgs, pts = messages(count, boot, since_ms)
        with Influx(base.influx) as influx:
            cpu0 = [cpu_s(p.pid) for p in procs]
            pub, pq = start_publisher(base.mqtt.port, rate, msgs)
            since = since_ms - 3_600_000
            last, t_last, p = 0, time.monotonic(), None
            while last < pts:
                time.sleep(0.1)
                now = stored(influx, since)
                if now != last:
                    last, t_last = now, time.monotonic()
                if p is None and not pq.empty():
                    p = pq.get()
                if p is not None and time.monotonic() - t_last > IDLE_S:
                    break
            cpu = [cpu_s(proc.pid) - c for proc, c in zip(procs, cpu0, strict=True)]
            if p is None:
                p = pq.get(timeout=120)
            pub.join()
            elapsed = t_last - p["t0"]
            time.sleep(1.5)  # each gateway's last stats point
            per = accepted(influx, names)
            final = stored(influx, since)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)
    each = ", ".join(
        f"{per[name]:,} msgs ({per[name] / elapsed:,.0f} msg/s, {c / max(per[name], 1) * 1e6:.0f}"
        " us CPU/msg)"
        for name, c in zip(names, cpu, strict=True)
    )
    return (
        f"| {n} | {load[0]:.2f} | {p['acked']:,} / {count:,} | {final:,} / {pts:,} "
        f"| {t_last - p['t_sent']:.1f} | {count * final / pts / elapsed:,.0f} | {each} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gateways", default="1,2,3", help="gateway counts, comma-separated")
    ap.add_argument("--rate", type=float, default=15000.0, help="offered msg/s")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--run-dir", type=Path, default=Path("run/bench-scale"))
    args = ap.parse_args()
    shutil.rmtree(args.run_dir, ignore_errors=True)
    with running_stack(args.run_dir / "servers") as stack:
        base = load_settings(
            **stack.settings_overrides(),
            gateway={"registry_file": args.run_dir / "registry" / "devices.csv"},
        )
        write_registry(base)
        counts = [int(x) for x in args.gateways.split(",")]
        base_ms = int(time.time() * 1000) - (len(counts) + 2) * ROUND_MS
        Meter(stack)  # the servers are up
        print(f"offered {args.rate:,.0f} msg/s for {args.seconds:g} s per round\n")
        print(
            "| gateways | load average | broker-acked / sent | points stored / expected "
            "| tail s | all: msg/s | each gateway |"
        )
        print("|---|---|---|---|---|---|---|")
        for boot, n in enumerate(counts):
            row = one_round(
                base, args.run_dir / f"gw{n}", n, args.rate, args.seconds, boot + 1, base_ms
            )
            print(row, flush=True)


if __name__ == "__main__":
    main()
