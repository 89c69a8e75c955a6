"""The morning after an outage: the whole fleet offline for hours, then back at once.

    .venv/bin/python bench/outage_burst.py [--buildings 155] [--hours 8] [--spread 3]
        [--station-heartbeat-s 300] [--live-taps 200] [--rounds lane-off,lane-on,restart]

The demo's registry (backend/registry/sample.py, 155 buildings, 11,319 devices) goes
offline for `--hours`; every device queues on its flash what the firmware queues
(bench/outage_load.py: the real Station and Sensor logic on simulated time, a link that
is down). Then the network returns: every device opens its own MQTT connection at a
random moment in the first `--spread` seconds and replays its queue in order (QoS 1,
window 4, as Uplink does) while `--live-taps` new taps arrive in the first 10 s, each
timed from its publish to its `ack` on the station's own connection.

Rounds, each on fresh servers (Mosquitto 2.0.11 with persistence, InfluxDB 1.6.7) and a
fresh `pletfri gateway run` process:
- `lane-off`: the gateway with `tap_lane = false` (one MQTT session for everything);
- `lane-on`: `tap_lane = true` (taps on a session of their own, committed first);
- `restart`: as lane-on, and `--restart-after` seconds after the return the broker is
  stopped (SIGTERM, so it saves its persistence) and started again on the same port:
  every device and the gateway reconnect (devices after their firmware backoff, the
  gateway resuming its persistent MQTT v5 sessions) and the devices send again what
  was unacknowledged.

Figures per round: when the devices' CONNACKs came (first, last, the most in one
second), the last queued message's PUBACK, the last point stored (InfluxQL counts
polled every 0.25 s until they equal what the queues hold), live tap-to-ack p50/p99/max,
and lost / doubled per measurement: stored counts and sums (tap seq, occupancy motion,
heartbeat queue) against the queues' own, plus every tap's acks (exactly one `ok` each,
or `duplicate` after a resend). The load average is printed with each round.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt
from outage_load import (
    DeviceQueue,
    ReplayResult,
    build_queues,
    expected_points,
    start_replay,
)
from paho.mqtt.enums import CallbackAPIVersion

from pletfri.influx import Influx
from pletfri.services import Stack, pletfri_process, running_stack
from pletfri.settings import Settings, load_settings
from pletfri_fw import contract
from sim.demo import site_key
from sim.registry import load as load_registry

SEED = 1  # the demo's
HOUR_MS = 3_600_000
# (measurement, field counted, field summed, expected count key, expected sum key)
CHECKS = (
    ("occupancy", "period_s", "motion", "periods", "motion_sum"),
    ("tap", "seq", "seq", "taps", "tap_seq_sum"),
    ("device", "queue", "queue", "heartbeats", "queue_sum"),
)


def stored(influx: Influx, before_ms: int | None = None) -> dict[str, tuple[int, int]]:
    """Counts and sums per measurement; `before_ms`: only points dated before it."""
    out = {}
    where = f" WHERE time < {before_ms}ms" if before_ms is not None else ""
    for measurement, counted, summed, _, _ in CHECKS:
        rows = influx.query(
            f'SELECT count("{counted}"), sum("{summed}") FROM "{measurement}"{where}'
        )
        out[measurement] = (int(rows[0]["count"]), int(rows[0]["sum"])) if rows else (0, 0)
    return out


def settings_for(stack: Stack, run: Path, lane: bool, receive_maximum: int) -> Settings:
    return load_settings(
        **stack.settings_overrides(),
        gateway={
            "registry_file": run.parent / "registry" / "devices.csv",
            "state_dir": run / "gateway",
            "client_id": "bench-gateway",
            "tap_lane": lane,
            "stats_interval_s": 1.0,
            "receive_maximum": receive_maximum,
        },
    )


def wait_ready(log: Path, sessions: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and "subscribed; ready" in log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the gateway did not get ready within {timeout:.0f} s; see {log}")


class Probe:
    """Sees every tap and ack pass through the broker (QoS 0, its own connection), to tell
    the broker's part of a live tap's wait from the gateway's."""

    def __init__(self, port: int) -> None:
        self.taps: dict[tuple[str, int], float] = {}
        self.acks: dict[tuple[str, int], float] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_message = self._message
        # Again after a reconnect (the broker restart round): its session is clean.
        self.client.on_connect = lambda c, *a: c.subscribe(
            [(contract.subscription(contract.TAP), 0), (contract.subscription(contract.ACK), 0)]
        )
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _message(self, client: mqtt.Client, userdata: object, m: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        parts = contract.parse_topic(m.topic)
        if parts is None:
            return
        seq = json.loads(m.payload)["seq"]
        book = self.taps if parts[1] == contract.TAP else self.acks
        book.setdefault((parts[0], seq), now)

    def split(
        self, r: ReplayResult
    ) -> tuple[list[float | None], list[float | None], list[float | None]]:
        """Per live tap: sent to seen at the broker's far side; seen to its ack seen; the
        ack seen to the ack read by its station."""
        via, gw, back = [], [], []
        for device, seq, sent in r.live_sent:
            tap, ack = self.taps.get((device, seq)), self.acks.get((device, seq))
            read = r.live_acked.get((device, seq))
            via.append(tap - sent if tap is not None else None)
            gw.append(ack - tap if tap is not None and ack is not None else None)
            back.append(read - ack if read is not None and ack is not None else None)
        return via, gw, back

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def listen_overflows() -> int:
    """The kernel's count of connections dropped because a listen queue was full."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for head, values in zip(lines[::2], lines[1::2], strict=False):
        if head.startswith("TcpExt:"):
            row = dict(zip(head.split()[1:], values.split()[1:], strict=True))
            return int(row.get("ListenOverflows", 0))
    return 0


def gateway_counters(influx: Influx) -> dict[str, int]:
    rows = influx.query(
        "SELECT last(accepted) AS accepted, last(duplicates) AS duplicates, "
        "last(unsure) AS unsure, last(received) AS received, "
        "max(tap_ms_max) AS tap_ms_max, last(acks) AS acks, "
        "last(acks_skipped) AS acks_skipped FROM gateway"
    )
    return {k: int(v) for k, v in rows[0].items() if k != "time"} if rows else {}


@dataclass
class Fleet:
    queues: list[DeviceQueue]
    expect: dict[str, int]  # counts and sums once everything is stored
    queued: dict[str, int]  # the same for what was queued before the return
    t_on: int  # the network's return, ms
    summary: str


def one_round(name: str, run: Path, data: Any, m: Any, args: argparse.Namespace) -> dict[str, Any]:
    shutil.rmtree(run, ignore_errors=True)
    with running_stack(run / "servers") as stack:
        s = settings_for(stack, run, name != "lane-off", args.receive_maximum)
        log = run / "gateway.log"
        gw = pletfri_process(s, ["gateway", "run"], log, PLETFRI_LOG_LEVEL="INFO")
        try:
            wait_ready(log, 2)
            fleet = build(data, m, args)
            queues, expect, queued = fleet.queues, fleet.expect, fleet.queued
            load = os.getloadavg()
            overflows = listen_overflows()
            influx = Influx(s.influx)
            probe = Probe(s.mqtt.port)
            t0 = time.monotonic()
            proc, out = start_replay(s.mqtt.port, queues, args.spread, args.timeout)
            restart: tuple[float, float] | None = None
            if name == "restart":
                time.sleep(max(0.0, t0 + args.restart_after - time.monotonic()))
                t_stop = time.monotonic()
                stack.mosquitto.stop()
                stack.mosquitto.start()
                restart = (t_stop - t0, time.monotonic() - t0)
            want = {m: (expect[c], expect[sm]) for m, _, _, c, sm in CHECKS}
            want_q = {m: (queued[c], queued[sm]) for m, _, _, c, sm in CHECKS}
            t_stored = t_queued = None
            while time.monotonic() - t0 < args.timeout:
                if t_queued is None:
                    got = stored(influx, fleet.t_on)
                    if all(got[m][0] >= want_q[m][0] for m in want):
                        t_queued = time.monotonic() - t0
                got = stored(influx)
                if all(got[m][0] >= want[m][0] for m in want):
                    t_stored = time.monotonic() - t0
                    break
                time.sleep(0.25)
            if t_queued is None:
                t_queued = t_stored  # both reached between the same two polls
            r: ReplayResult = out.get(timeout=args.timeout + 60)
            proc.join(10)
            time.sleep(2.5)  # a last stats point from the gateway, and late doubles
            got = stored(influx)
            counters = gateway_counters(influx)
            probe.close()
            overflows = listen_overflows() - overflows
            influx.close()
        finally:
            gw.terminate()
            gw.wait(60)
    return {
        "name": name,
        "fleet": fleet.summary,
        "load": load,
        "restart": restart,
        "r": r,
        "t_stored": t_stored,
        "t_queued": t_queued,
        "got": got,
        "want": want,
        "gateway": counters,
        "overflows": overflows,
        "probe": probe,
    }


def connack_figures(r: ReplayResult) -> tuple[float, float, int]:
    times = sorted(t - r.t0 for t in r.connacks)
    if not times:
        return 0.0, 0.0, 0
    per_s: dict[int, int] = {}
    for t in times:
        per_s[int(t)] = per_s.get(int(t), 0) + 1
    return times[0], times[-1], max(per_s.values())


def percentiles(xs: list[float | None]) -> str:
    ms = sorted(x * 1000 for x in xs if x is not None)
    if not ms:
        return "none answered"
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):.0f} ms, p99 {p99:.0f} ms, max {ms[-1]:.0f} ms"


def report(res: dict[str, Any]) -> str:
    r: ReplayResult = res["r"]
    first, last, peak = connack_figures(r)
    lat = sorted(x * 1000 for x in r.live_latency if x is not None)
    p, p_send = percentiles(r.live_latency), percentiles(r.live_from_send)
    waited = [x for x, w in zip(r.live_latency, r.live_waited, strict=True) if w]
    via, gw, back = res["probe"].split(r)
    lost = {m: res["want"][m][0] - res["got"][m][0] for m in res["want"]}
    sums = {m: res["got"][m][1] - res["want"][m][1] for m in res["want"]}
    live = {(device, seq) for device, seq, _ in r.live_sent}
    live_acks = [v for (device, _, seq), v in r.acks.items() if (device, seq) in live]
    multi = sum(1 for v in live_acks if len(v) > 1)
    not_ok = sum(1 for v in live_acks if v[0] != "ok")
    dup_acks = sum(v.count("duplicate") for v in live_acks)
    la = res["load"]
    lines = [
        f"### {res['name']} (load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} at the start)",
        res["fleet"],
        f"- devices {r.devices:,}, queued messages {r.messages:,}, live taps "
        f"{len(r.live_latency)}; replay CPU {r.cpu_s:.1f} s, its longest turn over the "
        f"ready sockets {r.loop_max_s * 1000:.0f} ms",
        f"- CONNACKs: {len(r.connacks):,} (first {first:.2f} s, last {last:.2f} s after the "
        f"return; at most {peak:,} in one second); disconnects {r.disconnects:,}, "
        f"refused {r.refused}, connects timed out (5 s) {r.connect_timeouts:,}, messages sent "
        f"again {r.resent:,}; connection attempts dropped by a full listen queue "
        f"(kernel ListenOverflows, whole machine) {res['overflows']:,}",
    ]
    if res["restart"]:
        lines.append(
            f"- broker stopped at {res['restart'][0]:.2f} s, listening again at "
            f"{res['restart'][1]:.2f} s"
        )
    stored_s = f"{res['t_stored']:.2f} s" if res["t_stored"] is not None else "NOT within timeout"
    queued_s = f"{res['t_queued']:.2f} s" if res["t_queued"] is not None else "NOT within timeout"
    lines += [
        f"- last queued message PUBACKed {r.t_last_queued_puback - r.t0:.2f} s, last queued "
        f"point stored {queued_s}, last point (live taps too) stored "
        f"{stored_s} after the network's return ({r.acked_items:,} of "
        f"{r.messages + len(r.live_latency):,} acknowledged)",
        f"- live taps answered {len(lat)} / {len(r.live_latency)}: **made while their station "
        f"was connected (a cleaner waits at the door: {len(waited)}): tap to ack "
        f"{percentiles(waited)}**; all live taps (the others were made before their station "
        f"was back, so it showed amber at once and sent them after connecting): tap to ack "
        f"{p}; from the moment the station sent it (after its own queue) to the ack {p_send}; "
        f"of which station to a probe subscriber {percentiles(via)}, tap to ack as the probe "
        f"saw them {percentiles(gw)}, ack at the probe to ack read by the station "
        f"{percentiles(back)}",
        "- lost (expected - stored count): "
        + ", ".join(f"{m} {n}" for m, n in lost.items())
        + "; stored sum - expected sum: "
        + ", ".join(f"{m} {n}" for m, n in sums.items()),
        f"- live taps with more than one ack {multi} (acks `duplicate` {dup_acks}), first ack "
        f"not `ok` {not_ok}, live taps without an ack {len(live) - len(live_acks)}; queued "
        f"taps answered {len(r.acks) - len(live_acks):,} (the gateway answers none older than "
        f"its ack_max_age_s)",
        f"- gateway: {res['gateway']}",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--buildings", type=int, default=155)
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--spread", type=float, default=3.0, help="devices reconnect within, s")
    ap.add_argument(
        "--station-heartbeat-s",
        type=int,
        default=300,
        help="the station's heartbeat_s: 300 is the firmware's default, the demo sets 10800",
    )
    ap.add_argument("--taps-per-station", type=float, default=2.0)
    ap.add_argument("--live-taps", type=int, default=200)
    ap.add_argument("--rounds", default="lane-off,lane-on,restart")
    ap.add_argument(
        "--receive-maximum", type=int, default=2000, help="the gateway's gateway.receive_maximum"
    )
    ap.add_argument("--restart-after", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--run-dir", type=Path, default=Path("run/bench-outage"))
    args = ap.parse_args()
    shutil.rmtree(args.run_dir, ignore_errors=True)
    reg = args.run_dir / "registry"
    data, m = load_registry(
        reg / "registry.sqlite", reg / "devices.csv", reg / "cards.csv", args.buildings, SEED
    )
    print(f"{len(m.buildings)} buildings, {len(data.devices):,} devices\n", flush=True)
    for name in args.rounds.split(","):
        res = one_round(name, args.run_dir / name, data, m, args)
        print(report(res) + "\n", flush=True)


def build(data: Any, m: Any, args: argparse.Namespace) -> Fleet:
    """The queues as they are when the network returns now: built for each round just
    before it, so a tap's age (which decides whether the gateway answers it) is real."""
    t_build = time.monotonic()
    t_on = int(time.time() * 1000)
    queues = build_queues(
        data,
        m,
        SEED,
        site_key(SEED),
        t_on - int(args.hours * HOUR_MS),
        t_on,
        args.station_heartbeat_s,
        taps_per_station=args.taps_per_station,
        live_taps=args.live_taps,
    )
    expect = expected_points(queues)
    queued = expected_points(
        [DeviceQueue(q.device, q.kind, q.boot, q.queued, last=q.last) for q in queues]
    )
    by_kind: dict[str, int] = {}
    for q in queues:
        by_kind[q.kind] = by_kind.get(q.kind, 0) + len(q.all_queued())
    summary = (
        f"- {args.hours:g} h offline, station heartbeat_s {args.station_heartbeat_s}: queued "
        f"{by_kind} messages, longest queue {max(len(q.all_queued()) for q in queues)}, "
        f"dropped {sum(q.drops for q in queues)}; points {expect} (built in "
        f"{time.monotonic() - t_build:.0f} s)"
    )
    return Fleet(queues, expect, queued, t_on, summary)


if __name__ == "__main__":
    main()
