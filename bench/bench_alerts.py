"""How long one alert evaluation takes at the municipality's scale.

Method: start real Mosquitto and InfluxDB (pletfri.services) in a temporary folder; write
26 hours of synthetic data in CONTRACT.md's shapes for B buildings x R rooms (each room a
sleeping sensor with 15-minute occupancy periods and an hourly battery heartbeat, and a
station with a heartbeat every 15 minutes, two taps and one visit a day, an hourly need
point), with the demo's planted faults (a dead sensor, a flat battery, a station offline
for an hour, a card in two buildings); then run `AlertEngine.evaluate(now)` a few times
and report the median wall time of the whole evaluation and of each rule, and the alerts
found. Channels are off (`alerts.channels = []`): this measures the rules, not SMTP.

For a ratio from the same run, it also times the obvious reads the rules replaced: one
aggregate per device or room over its whole window (`BASELINE`), which InfluxDB 1.x pays
for per series.

    .venv/bin/python bench/bench_alerts.py                # 155 x 40 = 6,200 rooms
    .venv/bin/python bench/bench_alerts.py --buildings 20 --rooms 10
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from backend.alerts import engine as engine_module
from backend.alerts.engine import AlertEngine
from backend.alerts.newest import Newest
from backend.alerts.readings import Readings
from backend.alerts.rules.base import Context
from backend.alerts.sources import Device, Leader, Room, StaticSources
from pletfri.influx import Influx, line
from pletfri.services import running_stack
from pletfri.settings import load_settings

MIN = 60_000
HOUR = 3_600_000
# Monday 23 November 2026, 18:00 in Copenhagen: after a school day and its cleaning.
NOW = int(datetime(2026, 11, 23, 17, 0, tzinfo=UTC).timestamp() * 1000)


BASELINE = (
    'SELECT first("batt_mv"), last("batt_mv"), min("batt_mv") FROM "device" '
    'WHERE {d24} GROUP BY "device", "kind", "building"',
    'SELECT first("queue"), last("queue"), max("queue"), count("queue") FROM "device" '
    'WHERE {h1} GROUP BY "device", "kind", "building"',
    'SELECT * FROM "device" WHERE {d26} GROUP BY "device" ORDER BY time DESC LIMIT 2',
    'SELECT last("period_s") FROM "occupancy" WHERE {d26} GROUP BY "device"',
    'SELECT count("seq") FROM "tap" WHERE {d26} AND "clock_ok" = false GROUP BY "device"',
    'SELECT count("period_s") FROM "occupancy" WHERE {d26} AND "clock_ok" = false '
    'GROUP BY "device"',
    'SELECT last("clock_ok") FROM "occupancy" WHERE {d26} GROUP BY "device"',
    'SELECT last("score") FROM "need" WHERE {d26} GROUP BY "building", "room"',
    'SELECT last("duration_s") FROM "visit" WHERE {d26} GROUP BY "room"',
)


def baseline_s(influx: Influx) -> float:
    def span(hours: int) -> str:
        return f"time >= {NOW - hours * HOUR}ms AND time <= {NOW}ms"

    t = time.perf_counter()
    for q in BASELINE:
        influx.query(q.format(d24=span(24), h1=span(1), d26=span(26)))
    return time.perf_counter() - t


def liveness_s(readings: Readings, runs: int) -> tuple[float, float]:
    """Median seconds of the two liveness reads, in full and incrementally; same results."""
    lookback, late = 26 * HOUR, 4 * HOUR
    full, incremental = [], []
    for k in range(runs):
        now = NOW + k * MIN
        t = time.perf_counter()
        whole = (readings.status(now - lookback, now), readings.sensor_seen(now - lookback, now))
        full.append(time.perf_counter() - t)
        status = Newest(readings.status, lambda r: r["time"], lookback, late)
        seen = Newest(readings.sensor_seen, lambda t: t, lookback, late)
        status.at(now - 30 * MIN)
        seen.at(now - 30 * MIN)
        t = time.perf_counter()
        part = (status.at(now), seen.at(now))
        incremental.append(time.perf_counter() - t)
        assert part == whole, "the incremental liveness reads differ from a full read"
    return statistics.median(full), statistics.median(incremental)


def synthetic(b_count: int, r_count: int, seed: int = 1) -> tuple[StaticSources, list[str]]:
    rng = random.Random(seed)
    sources = StaticSources()
    lines: list[str] = []
    start = NOW - 26 * HOUR
    cards = [f"{rng.getrandbits(64):016x}" for _ in range(b_count * 3)]
    sources.cards = set(cards)
    for b in range(b_count):
        building = f"b{b:03d}"
        sources.leaders_by_building[building] = [Leader(f"sl-{building}", f"Leader {b}")]
        for r in range(r_count):
            room = f"{building}-r{r:03d}"
            sensor, station = f"occ-{b:04x}{r:04x}0000", f"nfc-{b:04x}{r:04x}0001"
            sources.room_list.append(Room(room, building, "classroom", 50.0))
            sources.device_list += [
                Device(sensor, "sensor", building, room),
                Device(station, "station", building, room),
            ]
            occ_tags = {"building": building, "room": room, "room_type": "classroom"}
            dead = b == 0 and r == 0
            flat = b == 0 and r == 1
            for i in range(104):
                t = start + (i + 1) * 15 * MIN
                if dead and t > NOW - 8 * HOUR:
                    continue
                fields = {"period_s": 900, "motion": rng.randint(0, 9), "clock_ok": True}
                lines.append(line("occupancy", occ_tags | {"device": sensor}, fields, t))
                dev = {"device": station, "kind": "station", "building": building}
                lines.append(line("device", dev, {"rssi": -60, "queue": 0, "clock_ok": True}, t))
                if i % 4 == 3:
                    mv = 2480 - 12 * i // 4 if flat else 3000
                    dev = {"device": sensor, "kind": "sensor", "building": building}
                    lines.append(line("device", dev, {"batt_mv": mv, "clock_ok": True}, t))
                    need = {"score": rng.random() * 1.5, "due": False}
                    lines.append(line("need", {"building": building, "room": room}, need, t))
            card = cards[b * 3 + r % 3]
            tap_tags = {"building": building, "room": room, "device": station}
            for k, t in enumerate((NOW - 3 * HOUR, NOW - 2 * HOUR - 40 * MIN)):
                fields = {"card": card, "boot": 1, "seq": k, "clock_ok": True}
                lines.append(line("tap", tap_tags, fields, t + r * MIN))
            visit = {"card": card, "duration_s": 1200.0, "planned": True}
            lines.append(line("visit", {"building": building, "room": room}, visit, NOW - 3 * HOUR))
    off = {"device": "nfc-000100000001", "kind": "station", "building": "b001"}
    lines.append(line("device", off, {"online": 0, "reason": "status"}, NOW - HOUR))
    clone = {"building": "b002", "room": "b002-r000", "device": "nfc-000200000001"}
    lines.append(
        line(
            "tap",
            clone,
            {"card": cards[0], "boot": 1, "seq": 9, "clock_ok": True},
            NOW - 3 * HOUR + 6 * MIN,
        )
    )
    return sources, lines


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--buildings", type=int, default=155)
    p.add_argument("--rooms", type=int, default=40)
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp) / "stack") as stack:
        s = load_settings(
            **stack.settings_overrides(),
            backend={"database_file": Path(tmp) / "backend.sqlite"},
            alerts={"channels": []},
        )
        sources, lines = synthetic(a.buildings, a.rooms)
        t = time.perf_counter()
        with Influx(s.influx) as influx:
            for i in range(0, len(lines), 5000):
                influx.write(lines[i : i + 5000])
        print(
            f"{a.buildings} buildings x {a.rooms} rooms: wrote {len(lines):,} points "
            f"in {time.perf_counter() - t:.1f} s"
        )
        with AlertEngine(s, sources) as engine:
            per_rule: dict[str, list[float]] = {name: [] for name in engine.rules}
            for _ in range(a.runs):
                ctx = Context(NOW, s, sources, engine.readings, engine.tz)
                for name, rule in engine.rules.items():
                    t = time.perf_counter()
                    rule.evaluate(ctx)
                    per_rule[name].append(time.perf_counter() - t)
            totals = []
            for k in range(a.runs):
                t = time.perf_counter()
                engine.evaluate(NOW + k * MIN)
                totals.append(time.perf_counter() - t)
            # The same evaluation with the reads one after another, for the ratio.
            readers, engine_module.READERS = engine_module.READERS, 1
            serial = []
            for k in range(a.runs):
                t = time.perf_counter()
                engine.evaluate(NOW + (a.runs + k) * MIN)
                serial.append(time.perf_counter() - t)
            engine_module.READERS = readers
            open_by_rule = Counter(alert.rule for alert in engine.store.open_alerts())
            base = statistics.median(baseline_s(engine.influx) for _ in range(a.runs))
            live_full, live_inc = liveness_s(engine.readings, a.runs)
        print(
            f"evaluate(now): median {statistics.median(totals):.2f} s over {a.runs} runs "
            f"(first, with alerts opened: {totals[0]:.2f} s), {readers} reading threads; "
            f"{statistics.median(serial):.2f} s with one"
        )
        print(
            f"the per-series reads they replaced: median {base:.2f} s "
            f"({base / statistics.median(totals):.1f}x the whole evaluation)"
        )
        print(
            f"liveness reads (newest status and occupancy per device): {live_full:.2f} s "
            f"in full, {live_inc:.2f} s read on from an evaluation 30 min before (newest.py)"
        )
        for name, times in per_rule.items():
            print(f"  {name:<16} {statistics.median(times) * 1000:8.0f} ms")
        print("open alerts by rule:", dict(sorted(open_by_rule.items())))


if __name__ == "__main__":
    main()
