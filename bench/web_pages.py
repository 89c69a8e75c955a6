"""Each web page's size and server time on the demo's data, and the alert inbox's lines.

Method: needs a finished `./demo.sh` (its data in <run.dir>/demo). Starts the demo's
InfluxDB and Mosquitto again on that data (pletfri.services), builds the backend's app with
the demo's clock (sim/webdemo.py: into the last simulated day's afternoon shift) and the
demo logins (a service leader of the district nearest ten buildings, a training track's
leader, a cleaner), logs each in, and requests every page in process (FastAPI's TestClient:
no network, so the time is the server's: routing, SQLite, InfluxDB queries, templates).
Each page is requested once to warm up, then `--repeat` times; reported: the body's size
(and gzip-compressed, as a proxy would send it), the median and the slowest time.

The inbox's lines: every alert the demo raised in the leader's buildings (any state), per
local day it was opened: one line each before grouping, one per building and rule after
(backend/web/views.py: group_alerts); for the leader's first ten buildings exactly, and for
all 155 buildings.

    .venv/bin/python bench/web_pages.py --repeat 20
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import statistics
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from backend.alerts.store import AlertStore
from backend.api import create_app
from backend.cleaning.shifts import local_day
from backend.registry import Registry
from backend.web import views
from pletfri.services import running_stack
from pletfri.settings import load_settings
from sim.demo import demo_settings
from sim.webdemo import PASSWORD, demo_clock, demo_folder, demo_logins

TARGET_BYTES = 100_000
TARGET_MS = 200.0


def log_in(c: TestClient, name: str) -> None:
    page = c.get("/web/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    r = c.post("/web/login", data={"name": name, "password": PASSWORD, "csrf": token.group(1)},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:300]


def measure(c: TestClient, path: str, repeat: int) -> tuple[int, int, float, float, int]:
    first = c.get(path)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = c.get(path)
        times.append((time.perf_counter() - t0) * 1000)
    body = r.content
    return (len(body), len(gzip.compress(body)), statistics.median(times), max(times),
            first.status_code)  # fmt: skip


def alert_lines(store: AlertStore, buildings: list[str], tz: object) -> dict[str, tuple[int, int]]:
    found = [a for b in buildings for a in store.alerts(None, b, limit=1_000_000)]
    per_day = views.lines_per_day(found, tz)  # type: ignore[arg-type]
    missed = views.lines_per_day([a for a in found if a.rule == "missed_cleaning"], tz)  # type: ignore[arg-type]
    out = {f"{d} all": v for d, v in per_day.items()}
    out |= {f"{d} missed_cleaning": v for d, v in missed.items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    base = load_settings()
    folder = demo_folder(base.run.dir)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with running_stack(folder / "servers") as stack:
        s = demo_settings(base, stack, folder)
        with Registry(s.backend.database_file) as reg:
            clock = demo_clock(reg)
            logins = {x.name: x for x in demo_logins(reg, clock())}
            leader = logins["leder"].person
            buildings = reg.led_buildings(leader)
            all_buildings = [b.id for b in reg.buildings()]
        app = create_app(s, clock=clock)
        backend = app.state.backend
        now = clock()
        print(f"demo clock {time.strftime('%Y-%m-%d %H:%M', time.localtime(now / 1000))}, "
              f"leader {leader} of {len(buildings)} buildings")  # fmt: skip
        store = AlertStore(s.backend.database_file)
        tz = backend.tz
        for label, scope in (
            (f"leader's first 10 buildings ({', '.join(buildings[:10])})", buildings[:10]),
            (f"leader's {len(buildings)} buildings", buildings),
            ("all 155 buildings", all_buildings),
        ):
            lines = alert_lines(store, scope, tz)
            print(f"\ninbox lines per day, {label}: alerts -> grouped lines")
            by_kind: dict[str, list[tuple[int, int]]] = defaultdict(list)
            for key, (before, after) in sorted(lines.items()):
                print(f"  {key}: {before} -> {after}")
                by_kind[key.split(" ", 1)[1]].append((before, after))
            for kind, vals in by_kind.items():
                print(f"  mean per day ({kind}): {statistics.mean(v[0] for v in vals):.1f} -> "
                      f"{statistics.mean(v[1] for v in vals):.1f}")  # fmt: skip
        day = local_day(now, tz) - timedelta(days=1)
        missed_room = next(
            (r for b in buildings for r in backend.verify(day, now, b)[b].missed_rooms), None
        )
        inspection = latest_inspection(s.backend.database_file, buildings)
        store.close()
        pages = {
            "rengoering": ["/web/login", "/web/today", "/web/today/ticks"],
            "leder": [
                "/web/alerts",
                "/web/verification",
                *([f"/web/rooms/{missed_room}"] if missed_room else []),
                "/web/inspections",
                *([f"/web/inspections/{inspection}"] if inspection else []),
                "/web/trainees",
            ],
            "oplaering": ["/web/alerts", "/web/trainees"],
        }
        print(f"\n{'login':<11} {'page':<28} {'bytes':>8} {'gzip':>7} {'median ms':>10} "
              f"{'max ms':>8}  status")  # fmt: skip
        worst_bytes, worst_ms = 0, 0.0
        # One client: leaving its block shuts the app (and its backend) down.
        with TestClient(app) as c:
            for name, paths in pages.items():
                if name not in logins:
                    continue
                c.cookies.clear()
                log_in(c, name)
                for path in paths:
                    size, packed, med, slow, status = measure(c, path, args.repeat)
                    worst_bytes, worst_ms = max(worst_bytes, size), max(worst_ms, med)
                    print(f"{name:<11} {path[:28]:<28} {size:>8,} {packed:>7,} {med:>10.1f} "
                          f"{slow:>8.1f}  {status}")  # fmt: skip
        print(f"\nlargest page {worst_bytes:,} bytes (target under {TARGET_BYTES:,}); slowest "
              f"median {worst_ms:.0f} ms (target under {TARGET_MS:.0f} ms)")  # fmt: skip
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def latest_inspection(database: Path, buildings: list[str]) -> int | None:
    with Registry(database) as reg:
        rows = reg.query(
            "SELECT id FROM quality_inspections WHERE building IN "
            f"({','.join('?' * len(buildings))}) ORDER BY day DESC, id DESC LIMIT 1",
            tuple(buildings),
        )
    return rows[0]["id"] if rows else None


if __name__ == "__main__":
    main()
