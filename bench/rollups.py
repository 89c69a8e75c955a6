"""A year of data: the monthly report and a year-long dashboard panel, raw points against
the rollups (pletfri/storage.py).

Method: start real Mosquitto and InfluxDB 1.6.7 (pletfri.services) in a temporary folder,
deleted at the end; load the sample registry (155 buildings, ~6,200 rooms) and keep every
`--every`-th building (default 20: 8 buildings of every kind, ~6 % of the rooms;
a full year of 15-minute points for all 6,200 rooms is ~2.2 x 10^8 points, more than this
shared 2-core machine writes in a few minutes). Query times grow with the points read, so
the municipality's raw figures are roughly 16 x these, and so are the rollups' (from a
base that is smaller by the ratios shown). `pletfri storage setup` first, as an install does (raw
points kept for ever here). Then, in bulk (line protocol straight to /write, 50,000 lines a
request, not through the gateway): a year of 15-minute `occupancy` points for every room
(school/office hours use, 8 % of rooms unused), and `visit` points (each room cleaned on 60 %
of days, afternoons, some too short, some without a leaving tap). Plans for every day of the
reported month are made by the planner (not timed). `pletfri storage backfill` rolls the
year up (timed once: what an upgrade of an existing installation costs).

Timed, `--repeat` times each, median and fastest:
- the monthly report of the year's last whole month, raw (storage.read_rollups false: each
  day's visits read one by one, as before the rollups) and from the hourly rollups (one
  aggregate query for the month);
- the overview dashboard's "Usage: PIR triggers" over the whole year: the raw query Grafana
  sent before (sum per 6 h, the `$__interval` of a year on a ~1,500 px panel) against the
  daily rollup (`$rp` = daily, `$step` = 1d);
- the building dashboard's "Usage per room" for one building over the year: raw per 6 h
  against the hourly rollups by day (`$rp_room` = hourly, `$step_room` = 1d).

    .venv/bin/python bench/rollups.py                    # 8 buildings, a year
    .venv/bin/python bench/rollups.py --every 50 --days 60 --repeat 2   # a quick look
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from backend.registry import RegistryData
from backend.registry.sample import generate
from backend.reports import monthly as report
from backend.service import Backend
from pletfri import storage
from pletfri.influx import Influx
from pletfri.services import running_stack
from pletfri.settings import ReportSettings, load_settings

TZ = ZoneInfo("Europe/Copenhagen")
# The year ends at the start of November 2026; the report is October's, made the next day.
END = date(2026, 11, 1)
MONTH = "2026-10"
BUSY = {"classroom": 25, "toilet": 30, "office": 15, "meeting": 10, "corridor": 8,
        "kitchen": 15, "gym": 20, "group_room": 22, "sleeping": 6}  # fmt: skip
BATCH = 50_000


def ms(day: date, hour: int = 0) -> int:
    return int(datetime.combine(day, datetime.min.time(), TZ).timestamp() * 1000) + hour * 3_600_000


def write_year(influx: Influx, be: Backend, days: int, seed: int) -> int:
    """Occupancy every 15 minutes and the afternoon visits, for every room; points written."""
    rng = random.Random(seed)
    sensors = {d.room: d.device for d in be.registry.placed_devices("sensor")}
    first = END - timedelta(days=days)
    # Which 15-minute periods are open (school/office hours on weekdays), computed once.
    periods = []
    t, stop = ms(first), ms(END)
    while t < stop:
        t += 900_000
        local = datetime.fromtimestamp(t / 1000, TZ)
        periods.append((t, local.weekday() < 5 and 8 <= local.hour < 16))
    noise = [rng.random() * 2 for _ in range(997)]
    batch: list[str] = []
    written = 0

    def flush() -> None:
        nonlocal batch, written
        influx.write(batch, compress=False)
        written += len(batch)
        batch = []

    for r in be.registry.rooms():
        rate = 0 if rng.random() < 0.08 else BUSY[r.type] * rng.lognormvariate(0, 0.5)
        head = (f"occupancy,building={r.building},device={sensors.get(r.id, 'occ-x')},"
                f"room={r.id},room_type={r.type} period_s=900i,clock_ok=true,motion=")  # fmt: skip
        for i, (t, open_) in enumerate(periods):
            batch.append(f"{head}{int(noise[i % 997] * rate) if open_ else 0}i {t}")
            if len(batch) >= BATCH:
                flush()
        vhead = f"visit,building={r.building},room={r.id} "
        for d in range(days):
            if rng.random() < 0.6:
                day = first + timedelta(days=d)
                arrive = ms(day, 15) + rng.randint(0, 5 * 60) * 60_000
                minutes = rng.choice([2, 15, 20, 25])
                complete = rng.random() > 0.05
                seconds = minutes * 60 if complete else 0
                flags = f"complete={str(complete).lower()},short={str(minutes == 2).lower()}"
                batch.append(
                    f'{vhead}card="c1c1c1c1c1c1c1c1",duration_s={seconds}i,planned=true,'
                    f'{flags},role="cleaner" {arrive}'
                )
    flush()
    return written


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def show(name: str, times: list[float]) -> float:
    med = statistics.median(times)
    print(f"  {name}: median {med:.3f} s, fastest {min(times):.3f} s")
    return med


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--every", type=int, default=20, help="keep every n-th building")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp) / "stack") as stack:
        settings = load_settings(
            **stack.settings_overrides(),
            backend={"database_file": Path(tmp) / "reg.sqlite"},
            storage={"raw_days": 0},
        )
        tz = settings.backend.timezone
        with Backend(settings) as be:
            data = generate()
            keep = {b.id for b in data.buildings[:: args.every]}
            # The kept buildings with their rooms and devices; no people (the report's
            # verification and savings need none, and no one is in training here).
            rooms_kept = {r.id for r in data.rooms if r.building in keep}
            data = RegistryData(
                buildings=[b for b in data.buildings if b.id in keep],
                rooms=[r for r in data.rooms if r.building in keep],
                devices=[d for d in data.devices if d.room in rooms_kept],
            )
            be.registry.replace(data)
            rooms = len(be.registry.rooms())
            print(storage.setup(be.influx, settings.storage, tz)[-1])
            t = time.perf_counter()
            n = write_year(be.influx, be, args.days, args.seed)
            took = time.perf_counter() - t
            print(f"wrote {n:,} raw points ({len(keep)} buildings, {rooms:,} rooms, "
                  f"{args.days} days) in {took:.0f} s ({n / took:,.0f} points/s)")  # fmt: skip
            first = date(2026, 10, 1)
            day = first
            t = time.perf_counter()
            while day < END:
                for shift in be.shifts:
                    be.make_plans(day, shift, ms(day, 23))
                day += timedelta(days=1)
            print(f"plans for {MONTH}: {time.perf_counter() - t:.0f} s (not timed below)")
            t = time.perf_counter()
            rolled = storage.backfill_all(be.influx, settings.storage, tz)
            took = time.perf_counter() - t
            print(f"backfill of the {args.days} days: {rolled:,} rollup points in {took:.0f} s "
                  f"({n / took:,.0f} raw points/s)")  # fmt: skip
            now = ms(END + timedelta(days=1), 8)
            factors = ReportSettings()
            results: dict[str, float] = {}
            reports = {}
            print(f"timed, {args.repeat} runs each:")
            for source, on in (("raw", False), ("rollups", True)):
                settings.storage.read_rollups = on
                calls = iter(range(args.repeat))

                def run(on: bool = on, calls: Iterator[int] = calls) -> None:
                    # A new instant each run: Backend keeps a day's verification per instant.
                    reports[on] = report.monthly(be, MONTH, now - next(calls), factors)

                results[f"report {source}"] = show(
                    f"monthly report {MONTH}, {source}", timed(run, args.repeat)
                )
            same = reports[False].buildings == reports[True].buildings
            print(f"  the two reports' figures are {'the same' if same else 'DIFFERENT'}")
            span = f"time >= {ms(END - timedelta(days=args.days))}ms AND time < {ms(END)}ms"
            building = sorted(keep)[0]
            panels = {
                "year panel raw": 'SELECT sum("motion") FROM "autogen"."occupancy" '
                f"WHERE {span} GROUP BY time(6h) fill(0)",
                "year panel rollups": 'SELECT sum("motion") FROM "daily"."occupancy" '
                f"WHERE {span} GROUP BY time(1d) fill(0)",
                "rooms panel raw": 'SELECT sum("motion") FROM "autogen"."occupancy" '
                f'WHERE "building" =~ /^{building}$/ AND {span} '
                'GROUP BY time(6h), "room" fill(0)',
                "rooms panel rollups": 'SELECT sum("motion") FROM "hourly"."occupancy" '
                f'WHERE "building" =~ /^{building}$/ AND {span} '
                'GROUP BY time(1d), "room" fill(0)',
            }
            totals: dict[str, float] = {}

            def panel(name: str, q: str) -> None:
                # Grafana waits up to its datasource timeout (30 s by default) for an answer.
                rows = be.influx.query(q, timeout_s=600)
                totals[name] = sum(r.get("sum") or 0 for r in rows)

            for name, q in panels.items():
                results[name] = show(name, timed(lambda n=name, q=q: panel(n, q), args.repeat))
            print(f"  year total of PIR triggers: raw {totals['year panel raw']:,}, "
                  f"daily rollup {totals['year panel rollups']:,}")  # fmt: skip
            print("ratios (raw / rollups, medians of this run):")
            for what in ("report", "year panel", "rooms panel"):
                ratio = results[f"{what} raw"] / results[f"{what} rollups"]
                print(f"  {what}: {ratio:.1f} x")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
