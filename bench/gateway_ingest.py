"""Sustained ingest, broker to InfluxDB, one gateway process, against a plain subscriber.

    .venv/bin/python bench/gateway_ingest.py [--rates 5000,10000,15000] [--seconds 10]

For each offered rate, in one run on the same fresh servers: a paced QoS 1 publisher
(its own process) sends the device mix (bench/gateway_load.py) for `--seconds`, first to
a plain subscriber (a bare paho loop in its own process, QoS 1, counting), then to the
gateway (`pletfri gateway run`, its own process, default settings: 5,000-line or 1 s
batches, fsync'd spool). A run counts from the first publish until the last message
is received (plain) or the last point is in InfluxDB (gateway, polled by InfluxQL
count); "tail" is how long that took after the last publish. Effective msg/s is
messages / that time; "steady" is the rate between 10 % and 90 % of the round's points
stored, without the first and last batch's wait. A rate is sustained when everything
arrived and the tail stays short (about a batch interval), i.e. no backlog grew.
"CPU us/msg" is the subscriber's or the gateway process's user + system CPU time per
message over the round: what a message costs whatever else the shared cores are doing
(1e6 / it is the rate one free core could carry).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from gateway_load import gateway_process, messages, start_publisher, write_registry
from paho.mqtt.enums import CallbackAPIVersion

from pletfri.influx import Influx
from pletfri.services import Stack, running_stack
from pletfri.settings import Settings, load_settings
from pletfri_fw import contract

# The plain subscriber's messages go to a twin tree of the same length that the gateway
# does not subscribe to, so the two never compete for the same messages.
PLAIN_ROOT = "plainrx/v1/dev/"
# A round ends this long after the last message or point arrived.
IDLE_S = 8.0
# Each round's messages are dated this far after the last round's.
ROUND_MS = 10 * 24 * 3_600_000
COUNTS = (
    ("occupancy", "period_s"),
    ("device", "batt_mv"),
    ("tap", "seq"),
)


def _plain(port: int, n: int, ready: mp.Event, result: mp.Queue) -> None:
    got = [0]
    last = [0.0]
    cpu0 = [0.0]

    def on_message(c: mqtt.Client, u: object, m: mqtt.MQTTMessage) -> None:
        if not got[0]:
            cpu0[0] = time.process_time()
        got[0] += 1
        last[0] = time.monotonic()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-plain", protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.on_subscribe = lambda *a: ready.set()
    client.connect("127.0.0.1", port)
    client.subscribe(PLAIN_ROOT + "+/+", qos=1)
    deadline = time.monotonic() + 300
    while got[0] < n and time.monotonic() < deadline:
        client.loop(0.05)
        if got[0] and time.monotonic() - last[0] > IDLE_S:
            break
    cpu = time.process_time() - cpu0[0]
    result.put({"got": got[0], "t_last": last[0], "cpu_us": cpu / max(got[0], 1) * 1e6})
    client.disconnect()


def plain_round(
    port: int, rate: float, msgs: list[tuple[str, bytes]], meter: Meter
) -> dict[str, float]:
    ctx = mp.get_context("fork")
    ready, result = ctx.Event(), ctx.Queue()
    sub = ctx.Process(target=_plain, args=(port, len(msgs), ready, result), daemon=True)
    sub.start()
    ready.wait(10)
    meter.start()
    pub, pq = start_publisher(port, rate, msgs)
    p = pq.get(timeout=300)
    r = result.get(timeout=300)
    cpu = meter.stop()
    pub.join()
    sub.join()
    elapsed = r["t_last"] - p["t0"]
    return {
        "delivered": r["got"],
        "acked": p["acked"],
        "tail_s": r["t_last"] - p["t_sent"],
        "msg_s": r["got"] / elapsed if elapsed > 0 else 0.0,
        "cpu_us": r["cpu_us"],
        "pub_us": p["cpu_s"] / len(msgs) * 1e6,
        **cpu,
    }


def stored(influx: Influx, since_ms: int = 0) -> int:
    """Points of the mix in InfluxDB, dated from `since_ms` on (one round's own range)."""
    total = 0
    for measurement, field in COUNTS:
        rows = influx.query(
            f'SELECT count("{field}") FROM "{measurement}" WHERE time >= {since_ms}ms'
        )
        total += int(rows[0]["count"]) if rows else 0
    return total


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / hz, sum(ticks) / hz


class Meter:
    """CPU of the broker and InfluxDB, and how busy the machine's cores were, over a round."""

    def __init__(self, stack: Stack) -> None:
        assert stack.mosquitto.proc is not None and stack.influxdb.proc is not None
        self.pids = {"broker": stack.mosquitto.proc.pid, "influxd": stack.influxdb.proc.pid}

    def start(self) -> None:
        self.cpu0 = {name: cpu_s(pid) for name, pid in self.pids.items()}
        self.machine0 = machine_busy()

    def stop(self) -> dict[str, float]:
        out = {name: cpu_s(pid) - self.cpu0[name] for name, pid in self.pids.items()}
        busy, total = machine_busy()
        out["busy_pct"] = 100 * (busy - self.machine0[0]) / max(total - self.machine0[1], 1e-9)
        return out


def gateway_round(
    s: Settings,
    pid: int,
    rate: float,
    msgs: list[tuple[str, bytes]],
    expected_points: int,
    since_ms: int,
    meter: Meter,
) -> dict[str, float]:
    with Influx(s.influx) as influx:
        before = stored(influx, since_ms)
        cpu0 = cpu_s(pid)
        meter.start()
        pub, pq = start_publisher(s.mqtt.port, rate, msgs)
        last, t_last = before, time.monotonic()
        samples: list[tuple[float, int]] = []
        p = None
        # Until every point is stored, or the publisher is done and nothing more arrives.
        while last - before < expected_points:
            time.sleep(0.1)
            now = stored(influx, since_ms)
            samples.append((time.monotonic(), now - before))
            if now != last:
                last, t_last = now, time.monotonic()
            if p is None and not pq.empty():
                p = pq.get()
            if p is not None and time.monotonic() - t_last > IDLE_S:
                break
        cpu = cpu_s(pid) - cpu0
        others = meter.stop()
        if p is None:
            p = pq.get(timeout=120)
        pub.join()
    elapsed = t_last - p["t0"]
    points = last - before
    msgs_done = len(msgs) * points / expected_points
    return {
        "points": points,
        "acked": p["acked"],
        "tail_s": t_last - p["t_sent"],
        "msg_s": msgs_done / elapsed,
        "steady_msg_s": steady(samples, expected_points) * len(msgs) / expected_points,
        "points_s": points / elapsed,
        "cpu_us": cpu / max(msgs_done, 1) * 1e6,
        "pub_us": p["cpu_s"] / len(msgs) * 1e6,
        **others,
    }


def steady(samples: list[tuple[float, int]], expected: int) -> float:
    """Points/s between 10 % and 90 % of the round's points stored: the rate once running,
    without the first batch's wait and the last one's."""
    lo = next((t, n) for t, n in samples if n >= 0.1 * expected)
    hi = next(((t, n) for t, n in samples if n >= 0.9 * expected), samples[-1])
    return (hi[1] - lo[1]) / (hi[0] - lo[0]) if hi[0] > lo[0] else 0.0


def cpu_row(rate: float, who: str, r: dict[str, float], n: int, elapsed: float) -> str:
    return (
        f"| {rate:,.0f} | {who} | {r['pub_us']:.0f} | {r['broker'] / n * 1e6:.0f} "
        f"| {r['cpu_us']:.0f} | {r['influxd'] / elapsed * 100:.0f} % | {r['busy_pct']:.0f} % |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--rates", default="5000,10000,12500,15000", help="offered msg/s, comma-separated"
    )
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each round")
    ap.add_argument("--run-dir", type=Path, default=Path("run/bench-gateway"))
    args = ap.parse_args()
    shutil.rmtree(args.run_dir, ignore_errors=True)
    with running_stack(args.run_dir / "servers") as stack:
        s = load_settings(
            **stack.settings_overrides(),
            gateway={
                "registry_file": args.run_dir / "registry" / "devices.csv",
                "state_dir": args.run_dir / "gateway",
                "client_id": "bench-gateway",
            },
        )
        write_registry(s)
        gw = gateway_process(s, args.run_dir / "gateway.log")
        meter = Meter(stack)
        time.sleep(2.0)
        rates = [float(r) for r in args.rates.split(",")]
        # In the past (the gateway re-dates far-future points), 10 days per round.
        base_ms = int(time.time() * 1000) - (len(rates) + 2) * ROUND_MS
        print(
            "| offered msg/s | plain: delivered / broker-acked | plain: tail s | plain msg/s "
            "| plain CPU us/msg | gateway: broker-acked | gateway: points stored / expected "
            "| gateway: tail s "
            "| gateway msg/s | gateway steady msg/s | gateway points/s | gateway CPU us/msg "
            "| gateway / plain |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        all_points = 0
        cpu_rows: list[str] = []
        try:
            for boot, rate in enumerate(rates):
                n = int(rate * args.seconds)
                plain_msgs = [
                    (PLAIN_ROOT + t[len(contract.DEV_ROOT) :], b)
                    for t, b in messages(n, 1000 + boot, base_ms)[0]
                ]
                plain = plain_round(s.mqtt.port, rate, plain_msgs, meter)
                # Each round's points lie in a range of their own.
                since_ms = base_ms + boot * ROUND_MS
                gw_msgs, pts = messages(n, boot + 1, since_ms)
                g = gateway_round(s, gw.pid, rate, gw_msgs, pts, since_ms - 3_600_000, meter)
                all_points += pts
                print(
                    f"| {rate:,.0f} | {plain['delivered']:,} / {plain['acked']:,} "
                    f"| {plain['tail_s']:.1f} | {plain['msg_s']:,.0f} | {plain['cpu_us']:.0f} "
                    f"| {g['acked']:,} | {g['points']:,} / {pts:,} | {g['tail_s']:.1f} "
                    f"| {g['msg_s']:,.0f} | {g['steady_msg_s']:,.0f} "
                    f"| {g['points_s']:,.0f} | {g['cpu_us']:.0f} "
                    f"| {g['msg_s'] / plain['msg_s']:.2f} |",
                    flush=True,
                )
                cpu_rows.append(cpu_row(rate, "plain", plain, n, n / max(plain["msg_s"], 1)))
                cpu_rows.append(cpu_row(rate, "gateway", g, n, n / max(g["msg_s"], 1)))
            print(
                "\nCPU over each round: publisher, broker and the process under test per "
                "message; InfluxDB and the whole machine (all cores) as a share of the round"
            )
            print(
                "\n| offered msg/s | round | publisher us/msg | broker us/msg "
                "| subscriber or gateway us/msg | influxd | machine busy |"
            )
            print("|---|---|---|---|---|---|---|")
            print("\n".join(cpu_rows))
            # Nothing lost: once the backlog has drained, every point of every round is there.
            with Influx(s.influx) as influx:
                total, t_change = stored(influx), time.monotonic()
                while total < all_points and time.monotonic() - t_change < 3 * IDLE_S:
                    time.sleep(1.0)
                    now = stored(influx)
                    if now != total:
                        total, t_change = now, time.monotonic()
            print(
                f"\nall rounds: {total:,} of {all_points:,} points stored after the backlog drained"
            )
        finally:
            gw.terminate()
            gw.wait(60)


if __name__ == "__main__":
    main()
