"""How long a day's plan for the whole municipality takes, InfluxDB queries included.

Method: start real Mosquitto and InfluxDB (pletfri.services) in a temporary folder; load the
sample registry (155 buildings, ~6,200 rooms) into a fresh SQLite file; write one week of
15-minute occupancy points for every room (CONTRACT.md shape: tags building, room, room_type,
device; fields period_s, motion, clock_ok), with school/office-hours use and 8 % of rooms
unused, and `visit` points for the cleanings of that week (each room cleaned on 0-5 afternoons
at a random minute between 15:00 and 21:00, some visits too short). Then time
`Backend.make_plans(day, "afternoon", now)` for all buildings: the last verified visit per
room (one aggregate query), the usage sums since then (one request with a statement per
15-minute start), scoring, route ordering and storing the plans in SQLite. Repeated; the
median and the fastest are reported. Setup (writing ~4 M points) is not timed.

    .venv/bin/python bench/planner_bench.py              # the sample municipality
    .venv/bin/python bench/planner_bench.py --days 7 --repeat 5
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from backend.cleaning import planner
from backend.cleaning.shifts import to_ms
from backend.cleaning.visits import Visit, visit_line
from backend.registry.sample import generate
from backend.service import Backend
from pletfri.influx import Influx, line
from pletfri.services import running_stack
from pletfri.settings import load_settings

TZ = ZoneInfo("Europe/Copenhagen")
# Plan for Monday 23 November 2026's afternoon from the week before it.
DAY = date(2026, 11, 23)
BUSY = {"classroom": 25, "toilet": 30, "office": 15, "meeting": 10, "corridor": 8,
        "kitchen": 15, "gym": 20, "group_room": 22, "sleeping": 6}  # fmt: skip


def write_week(influx: Influx, backend: Backend, days: int, seed: int) -> int:
    rng = random.Random(seed)
    rooms = backend.registry.rooms()
    sensors = {d.room: d.device for d in backend.registry.placed_devices("sensor")}
    start = datetime.combine(DAY - timedelta(days=days), datetime.min.time(), TZ)
    now = to_ms(datetime.combine(DAY, datetime.min.time(), TZ)) + 15 * 3_600_000
    points = 0
    batch: list[str] = []
    for r in rooms:
        rate = 0 if rng.random() < 0.08 else BUSY[r.type] * rng.lognormvariate(0, 0.5)
        tags = {"building": r.building, "room": r.id, "room_type": r.type, "device": sensors[r.id]}
        t = to_ms(start)
        while t < now:
            t += 900_000
            local = datetime.fromtimestamp(t / 1000, TZ)
            open_ = local.weekday() < 5 and 8 <= local.hour < 16
            motion = int(rng.random() * 2 * rate) if open_ else 0
            batch.append(line("occupancy", tags, {"period_s": 900, "motion": motion,
                                                  "clock_ok": True}, t))  # fmt: skip
        visits = []
        for d in range(days):
            if rng.random() < 0.6:
                day = DAY - timedelta(days=d + 1)
                arrive = datetime.combine(day, datetime.min.time(), TZ) + timedelta(
                    minutes=rng.randint(15 * 60, 21 * 60 - 30)
                )
                a = to_ms(arrive)
                minutes = rng.choice([2, 15, 20, 25])
                visits.append(Visit(r.building, r.id, "c1c1c1c1c1c1c1c1", a, a + minutes * 60_000,
                                    short=minutes == 2))  # fmt: skip
        batch += [visit_line(v) for v in visits]
        if len(batch) >= 20_000:
            influx.write(batch)
            points += len(batch)
            batch = []
    influx.write(batch)
    return points + len(batch)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp) / "stack") as stack:
        settings = load_settings(
            **stack.settings_overrides(), backend={"database_file": Path(tmp) / "reg.sqlite"}
        )
        with Backend(settings) as be:
            be.registry.replace(generate())
            t0 = time.perf_counter()
            n = write_week(be.influx, be, args.days, args.seed)
            print(f"setup: {n:,} points ({len(be.registry.rooms()):,} rooms, {args.days} days) "
                  f"written in {time.perf_counter() - t0:.0f} s")  # fmt: skip
            now = to_ms(datetime.combine(DAY, datetime.min.time(), TZ)) + 15 * 3_600_000
            times, parts = [], []
            for i in range(args.repeat):
                # A new instant each time (before the shift's start, which caps it): Backend
                # keeps the last needs computed for the same instant.
                now -= i
                t = time.perf_counter()
                made = be.make_plans(DAY, "afternoon", now)
                times.append(time.perf_counter() - t)
                # The same work in its parts, to show where the time goes.
                t1 = time.perf_counter()
                horizon = now - settings.backend.lookback_days * planner.DAY_MS
                cleaned = planner.last_verified(be.influx, horizon, now)
                t2 = time.perf_counter()
                starts = {r.id: cleaned.get(r.id, horizon) for r in be.registry.rooms()}
                planner.usage_since(be.influx, starts, now)
                t3 = time.perf_counter()
                parts.append((t2 - t1, t3 - t2, len({s - s % planner.PERIOD_MS
                                                     for s in starts.values()})))  # fmt: skip
            due = sum(len(p.due) for p in made)
            rooms = sum(len(p.due) + len(p.skip) for p in made)
            print(f"plan: {len(made)} buildings, {rooms:,} rooms in the afternoon shift, "
                  f"{due:,} due")  # fmt: skip
            print(f"make_plans, end to end: median {statistics.median(times):.2f} s, "
                  f"fastest {min(times):.2f} s over {args.repeat} runs")  # fmt: skip
            lv, us, groups = (statistics.median(x) for x in zip(*parts, strict=True))
            print(f"  of which: last verified visits {lv:.2f} s, usage sums {us:.2f} s "
                  f"({groups:.0f} statements in one request)")  # fmt: skip
            # The other per-day steps the demo runs, once each, for scale.
            be.make_plans(DAY - timedelta(days=1), "afternoon", now - planner.DAY_MS)
            for name, step in (
                (
                    "verify yesterday, all buildings",
                    lambda: be.verify(DAY - timedelta(days=1), now),
                ),
                ("need: points + retained topics", lambda: be.publish_need(now)),
            ):
                t = time.perf_counter()
                step()
                print(f"{name}: {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
