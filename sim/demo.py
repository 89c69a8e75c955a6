"""`pletfri demo`: the whole system on this machine against a simulated municipality.

The real Mosquitto and InfluxDB, the real gateway and backend; the fleet (sim/fleet.py)
plays every sensor and station of the registry through the last school week, cleaners
work the backend's plan each afternoon, and the backend keeps its books each night.
Each run starts fresh in run/demo/: figures from two runs mixed together would be wrong.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from backend.alerts.sources import PlannedCleaning
from pletfri.services import running_stack
from pletfri.settings import Settings, load_settings
from sim.alerting import Alerting
from sim.calendar import Calendar, SimDay, school_week
from sim.cleaning import (
    DEFAULT_SHIFT_START,
    SHIFT_START,
    BehaviourConfig,
    PlannedRoom,
    Tap,
    work_day,
)
from sim.faults import Faults, plant
from sim.fleet import Fleet
from sim.link import Pool
from sim.platform import Platform
from sim.processes import GatewayProcess
from sim.summary import Summary, collect
from sim.world import Municipality

log = logging.getLogger(__name__)

STEP_MS = 900_000
# Rules that judge visits and need, which the backend's pairing and planner provide.
VISIT_RULES = ("missed_cleaning", "short_visit", "overdue_room")
# Alerts are evaluated every hour while cleaners work, every six hours otherwise, over the
# last eight hours (ALERT_LOOKBACK_H): each evaluation reads every device's recent data.
ALERT_BUSY_HOURS = range(14, 24)
ALERT_LOOKBACK_H = 8
# The plan for the evening shift is made from the day's use, just before the first shift.
PLAN_AT = (14, 30)


@dataclass(frozen=True, slots=True)
class DemoOptions:
    buildings: int = 155
    days: int = 5
    speed: float = 0.0  # simulated seconds per real second; 0: as fast as the broker allows
    seed: int = 1
    holiday: date | None = None
    rate: float = 6000.0  # messages per second the fleet offers the broker
    connections: int = 4
    today: date | None = None  # the run simulates the school week before this day


@dataclass
class DemoRun:
    """What a run produced, for the summary and the tests."""

    folder: Path
    settings: Settings
    municipality: Municipality
    calendar: Calendar
    faults: Faults
    summary: Summary | None = None
    offline_station: str | None = None
    clone: Tap | None = None
    interrupted: bool = False
    wall_s: float = 0.0
    # Wall seconds spent per phase, to show where a run's time goes (logged at DEBUG).
    phases: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.phases[phase] = self.phases.get(phase, 0.0) + time.perf_counter() - t0


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _catch_up(gw: GatewayProcess, pool: Pool, sent: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while gw.stats()["received"] < sent:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the gateway took {gw.stats()['received']} of {sent} messages in "
                f"{timeout:.0f} s; see its log lines above"
            )
        pool.pump()
        time.sleep(0.002)


def _wait_stored(gw: GatewayProcess, pool: Pool, timeout: float = 120.0) -> None:
    """Wait until the gateway has stored everything the broker took from the fleet."""
    pool.flush(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = gw.stats()
        if s["received"] >= pool.published and s["spool_lines"] == 0 and s["stored"] >= s["points"]:
            return
        time.sleep(0.05)
    log.warning("the gateway had not stored everything after %.0f s: %s", timeout, gw.stats())


def simulate(
    base: Settings,
    opts: DemoOptions,
    console: Console | None = None,
    stop: Callable[[], bool] = lambda: False,
    serve: bool = False,
) -> DemoRun:
    console = console or Console()
    started = time.monotonic()
    # Per-message INFO lines would bury the progress bar; warnings still show.
    for name in ("gateway", "backend"):
        logging.getLogger(name).setLevel(logging.WARNING)
    folder = base.run.dir.resolve() / "demo"
    shutil.rmtree(folder, ignore_errors=True)
    tz = ZoneInfo(base.backend.timezone)
    today = opts.today or datetime.now(tz).date()
    cal = school_week(today, opts.days, tz, opts.holiday)
    site_key = f"pletfri-demo-{opts.seed}".encode()
    platform = Platform(folder / "backend", site_key)
    m = platform.municipality(opts.buildings, opts.seed)
    faults = plant(m, cal, opts.seed)
    with running_stack(folder / "servers") as stack:
        s = load_settings(
            **stack.settings_overrides(),
            gateway={
                "registry_file": folder / "registry" / "devices.csv",
                "cards_file": folder / "registry" / "cards.csv",
                "state_dir": folder / "gateway",
                "client_id": "pletfri-demo-gateway",
                # Backend steps wait for the data they read: a short write interval keeps
                # those waits short; under load batches fill by size anyway.
                "batch_interval_s": 0.2,
            },
            backend={"database_file": folder / "backend" / "registry.sqlite"},
            run={"dir": folder},
            # No mail server or webhook here: alerts go out on MQTT and into InfluxDB.
            alerts={
                "channels": ["mqtt"],
                "lookback_h": ALERT_LOOKBACK_H,
                **{rule: {"enabled": False} for rule in VISIT_RULES},
            },
        )
        platform.export(m, s.gateway.registry_file, s.gateway.cards_file)
        run = DemoRun(folder, s, m, cal, faults)
        console.print(
            f"[bold]Pletfri demo[/] {len(m.buildings)} buildings, {len(m.rooms())} rooms, "
            f"{cal.days[0].day:%a %d %b} to {cal.days[-1].day:%a %d %b %Y} "
            f"({tz.key}), seed {opts.seed}\n"
            f"  mosquitto 127.0.0.1:{stack.mosquitto.port}, influxdb {stack.influxdb.url} "
            f"db {stack.influxdb.database}, data in {folder}"
        )
        gw = GatewayProcess(s, _ms(cal.start))
        gw.start()
        pool = Pool(s.mqtt, opts.connections, opts.rate)
        alerting = Alerting(s, m, site_key)
        try:
            pool.subscribe(("ack", "need"))
            pool.start()
            fleet = Fleet(m, cal, faults, pool, opts.seed, site_key)
            run.interrupted = _loop(run, platform, alerting, fleet, pool, gw, opts, console, stop)
            if not run.interrupted:
                gw.set_clock(_ms(cal.end))
                fleet.finish(_ms(cal.end))
            _wait_stored(gw, pool)
            if not run.interrupted:
                platform.end_of_day(cal.days[-1].day, _ms(cal.end))
                alerting.tick(_ms(cal.end))
        finally:
            alerting.close()
            pool.stop()
            final = gw.stop()
        run.wall_s = time.monotonic() - started
        run.summary = collect(run, final, pool)
        run.summary.print(console)
        console.print(f"wall seconds by phase: {run.phases}")
        log.debug("wall seconds by phase: %s", {k: round(v, 1) for k, v in run.phases.items()})
        if serve:
            _serve(console)
    return run


def _serve(console: Console) -> None:
    console.print("[bold]servers still running[/] for Grafana or InfluxQL; Ctrl-C stops them")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass


def _loop(
    run: DemoRun,
    platform: Platform,
    alerting: Alerting,
    fleet: Fleet,
    pool: Pool,
    gw: GatewayProcess,
    opts: DemoOptions,
    console: Console,
    stop: Callable[[], bool],
) -> bool:
    cal = run.calendar
    t, end = _ms(cal.start), _ms(cal.end)
    fleet.start(t)
    plan_times = {
        _ms(
            datetime.combine(d.day, datetime.min.time(), cal.tz)
            + timedelta(hours=PLAN_AT[0], minutes=PLAN_AT[1])
        ): d
        for d in cal.days
    }
    day_ends = {
        _ms(datetime.combine(d.day + timedelta(days=1), datetime.min.time(), cal.tz)): d
        for d in cal.days
    }
    real0, sim0 = time.monotonic(), t
    sent_before = 0
    with Progress(
        TextColumn("[bold]{task.fields[clock]}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[msgs]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("sim", total=(end - t) // STEP_MS, clock="", msgs="")
        try:
            while t < end:
                if stop():
                    return True
                if t in plan_times:
                    _wait_stored(gw, pool)
                    _clean(run, platform, alerting, fleet, plan_times[t], t, opts.seed)
                # The gateway must have taken the previous step before time moves on:
                # otherwise it would judge last-seen windows by a clock far ahead of it.
                with run.timed("wait for gateway"):
                    _catch_up(gw, pool, sent_before)
                sent_before = pool.published
                gw.set_clock(t + STEP_MS)
                with run.timed("fleet"):
                    fleet.step(t, t + STEP_MS)
                t += STEP_MS
                if t in day_ends and t < end:
                    _wait_stored(gw, pool)
                    platform.end_of_day(day_ends[t].day, t)
                if t < end and _alerts_due(cal.local(t)):
                    with run.timed("wait for storage"):
                        _wait_stored(gw, pool)
                    with run.timed("alerts"):
                        alerting.tick(t)
                if opts.speed > 0:
                    ahead = (t - sim0) / 1000 / opts.speed - (time.monotonic() - real0)
                    if ahead > 0:
                        time.sleep(ahead)
                stats = gw.stats()
                progress.update(
                    task,
                    advance=1,
                    clock=f"{cal.local(t):%a %d %b %H:%M}",
                    msgs=f"sent {pool.published:,}  stored {stats['stored']:,} points  "
                    f"rejected {stats['rejected_total']:,}",
                )
        except KeyboardInterrupt:
            console.print("[yellow]stopping: Ctrl-C[/]")
            return True
    return False


def _alerts_due(local: datetime) -> bool:
    step = 60 if local.hour in ALERT_BUSY_HOURS else 360
    return (local.hour * 60 + local.minute) % step == 0


def _clean(
    run: DemoRun,
    platform: Platform,
    alerting: Alerting,
    fleet: Fleet,
    day: SimDay,
    now_ms: int,
    seed: int,
) -> None:
    if not day.school_day:
        return
    plans = platform.plan(run.municipality, day.day, now_ms)
    alerting.add_plan(_planned(run, plans, day))
    by_building: dict[str, list[Tap]] = {}
    for b in run.municipality.buildings:
        taps, _ = work_day(b, plans.get(b.id, []), day.day, run.calendar.tz, seed)
        by_building[b.id] = taps
    extra: list[Tap] = []
    if run.offline_station is None:
        run.offline_station = run.faults.offline_station(by_building)
        clone = run.faults.clone_tap(by_building, run.municipality)
        if clone is not None:
            run.clone = clone
            extra.append(clone)
    fleet.add_taps([t for taps in by_building.values() for t in taps] + extra, run.offline_station)


def _planned(
    run: DemoRun, plans: dict[str, list[PlannedRoom]], day: SimDay
) -> list[PlannedCleaning]:
    out = []
    for b in run.municipality.buildings:
        start = datetime.combine(
            day.day, SHIFT_START.get(b.kind, DEFAULT_SHIFT_START), run.calendar.tz
        )
        end = start + timedelta(minutes=BehaviourConfig().shift_minutes)
        out += [
            PlannedCleaning(b.id, p.room.id, "evening", _ms(start), _ms(end))
            for p in plans.get(b.id, [])
        ]
    return out


def run_demo(base: Settings, opts: DemoOptions, serve: bool = False) -> DemoRun:
    console = Console()
    run = simulate(base, opts, console, serve=serve)
    return run
