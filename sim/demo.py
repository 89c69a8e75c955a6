"""`pletfri demo`: the whole system on this machine against a simulated municipality.

The real Mosquitto and InfluxDB, the real gateway (in a process of its own) and the real
backend; the fleet (sim/fleet.py) plays every sensor and station of the sample registry
through the last school week with the firmware's own logic. At each shift's start the
backend plans it and publishes every station's need, and the cleaners work that plan;
alerts are evaluated through the day; at the end the week's books are kept.

Each run starts fresh in <run.dir>/demo: figures from two runs mixed would be wrong.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from backend.broker.acl import BACKEND, GATEWAY
from backend.cleaning.planner import Plan
from backend.people import sitekey
from backend.quality import inspections
from backend.reports import render
from backend.reports.monthly import monthly
from backend.service import Backend
from backend.stickers import binding
from pletfri import storage
from pletfri.influx import Influx
from pletfri.services import Stack, running_stack
from pletfri.settings import Settings, load_settings
from sim import logins, report
from sim.calendar import Calendar, SimDay, school_week
from sim.cleaning import PlannedRoom, Tap, work_shift
from sim.faults import Faults, plant
from sim.fleet import Fleet, FleetConfig
from sim.inspections import inspect_day
from sim.link import Pool
from sim.platform import Books, Platform
from sim.processes import GatewayProcess
from sim.stickers import StickerPhones, demo_master_key
from sim.summary import MEASUREMENTS, Summary, alerts_by_kind, count
from sim.webdemo import demo_logins
from sim.world import Municipality

log = logging.getLogger(__name__)

STEP_MS = 900_000
STICKER_PREFIX = "tag-"
# Alerts are evaluated twice a day, over the last six hours: in the afternoon shift (a
# station offline for 15 minutes, the midday shift's missed cleanings, a sensor silent
# since the morning) and after it (its missed and short cleanings, copied cards). Each
# evaluation reads every device's recent data: 2 s at 155 buildings on a quiet machine,
# several times that on a busy one, so more often would cost the demo its five minutes.
ALERT_HOURS = (16, 22)
ALERT_LOOKBACK_H = 6
# The stations' need is published with the plan of this shift (the main cleaning of the day).
NEED_SHIFT = "afternoon"
# In the simulated timetables meeting rooms and offices stand empty for hours as a matter
# of course; a classroom that counts nothing all morning is worth a look.
SILENT_ROOM_TYPES = ["classroom"]


def site_key(seed: int) -> bytes:
    """The sample registry's site key for `seed` (backend/registry/sample.py)."""
    return f"pletfri-demo-{seed}".encode()


@dataclass(frozen=True, slots=True)
class DemoOptions:
    buildings: int = 155
    days: int = 5
    speed: float = 0.0  # simulated seconds per real second; 0: as fast as the broker allows
    seed: int = 1
    holiday: date | None = None
    today: date | None = None  # the run simulates the school week before this day
    # Rotate the site key at noon of the middle day, finished a day later (docs/security.md).
    rotate_site_key: bool = False


@dataclass
class DemoRun:
    """What a run produced, for the summary and the tests."""

    folder: Path
    settings: Settings
    municipality: Municipality
    calendar: Calendar
    faults: Faults
    summary: Summary | None = None
    books: Books | None = None
    offline_station: str | None = None
    clone: Tap | None = None
    interrupted: bool = False
    # Visits written before the run: each room's last cleaning (Platform.seed_history).
    history_visits: int = 0
    wall_s: float = 0.0
    # INSTA 800 inspections of the simulated days, summed (backend.quality.total).
    quality: dict[str, float] = field(default_factory=dict)
    # The monthly contract report of the simulated days (HTML, PDF).
    contract_report: list[Path] = field(default_factory=list)
    # Stickers: how many, rooms still without a check-in, taps by result, planted fakes.
    stickers: dict[str, Any] = field(default_factory=dict)
    sent_stickers: int = 0
    # The site-key rotation, when asked for: start, finish (ms), cards learned and not.
    rotation: dict[str, int] = field(default_factory=dict)
    # Wall seconds per phase, to show where a run's time goes (logged at DEBUG).
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


def demo_settings(base: Settings, stack: Stack, folder: Path, seed: int = 1) -> Settings:
    """The base settings pointed at this run's servers and folders."""
    d = base.demo
    return load_settings(
        **stack.settings_overrides(),
        gateway={
            "registry_file": folder / "registry" / "devices.csv",
            "cards_file": folder / "registry" / "cards.csv",
            "state_dir": folder / "gateway",
            "client_id": "pletfri-demo-gateway",
            # Backend steps wait for the data they read: a short write interval keeps
            # those waits short; under load batches fill by size anyway.
            "batch_interval_s": 0.2,
            "last_seen_timeout_s": d.last_seen_timeout_s,
            # Simulated time moves in steps of 15 minutes, so a tap's age on the gateway's
            # clock says nothing about whether anyone waits for its ack (sticker pages do).
            "ack_max_age_s": 2 * STEP_MS // 1000,
        },
        backend={
            **base.backend.model_dump(),
            "database_file": folder / "backend.sqlite",
            "site_key_file": folder / "site-key.json",
        },
        # No mail server or webhook here: alerts go out on MQTT and into InfluxDB.
        alerts={
            **base.alerts.model_dump(),
            "channels": ["mqtt"],
            "lookback_h": ALERT_LOOKBACK_H,
            "silent_sensor": {
                **base.alerts.silent_sensor.model_dump(),
                "room_types": SILENT_ROOM_TYPES,
            },
        },
        demo=d.model_dump(),
        # The demo's stickers are programmed with a key of its own unless one is set.
        stickers={
            **base.stickers.model_dump(),
            "master_key": base.stickers.master_key or demo_master_key(seed),
        },
        run={"dir": folder},
        log_level=base.log_level,
    )


def _catch_up(gw: GatewayProcess, pool: Pool, sent: int, timeout: float = 60.0) -> None:
    """Wait until the gateway has taken `sent` messages (it must not fall behind the clock)."""
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
        pool.pump()
        time.sleep(0.02)
    log.warning("the gateway had not stored everything after %.0f s: %s", timeout, gw.stats())


def simulate(
    base: Settings, opts: DemoOptions, console: Console | None = None, serve: bool = False
) -> DemoRun:
    console = console or Console()
    started = time.monotonic()
    # Per-message INFO lines would bury the progress bar; warnings still show.
    for name in ("gateway", "backend"):
        logging.getLogger(name).setLevel(logging.WARNING)
    folder = base.run.dir.resolve() / "demo"
    shutil.rmtree(folder, ignore_errors=True)
    tz = ZoneInfo(base.backend.timezone)
    cal = school_week(opts.today or datetime.now(tz).date(), opts.days, tz, opts.holiday)
    keys = logins.prepare(folder / "broker")
    logins.raise_open_files()
    with running_stack(folder / "servers", keys.files.password_file, keys.files.acl_file) as stack:
        s = keys.as_account(demo_settings(base, stack, folder, opts.seed), BACKEND)
        # Retention policies and rollups, as production's install makes them.
        with Influx(s.influx) as influx:
            storage.setup(influx, s.storage, s.backend.timezone)
        platform = Platform(s, opts.buildings, opts.seed)
        m = platform.municipality
        t0 = time.perf_counter()
        logins.check_open_files(len(platform.data.devices))
        fleet_logins = logins.provision_fleet(keys, s.backend.database_file, stack.mosquitto)
        provisioned_s = time.perf_counter() - t0
        afternoon = platform.backend.shifts.get("afternoon")
        faults = plant(m, cal, opts.seed, *([afternoon.start] if afternoon else []))
        run = DemoRun(folder, s, m, cal, faults)
        run.phases["broker: device logins"] = provisioned_s
        # The sample registry's pseudonyms are made with the demo's key: it is this site's.
        sitekey.init(s.backend.site_key_file, site_key(opts.seed))
        run.history_visits = platform.seed_history(cal.days[0].day, site_key(opts.seed))
        console.print(
            f"[bold]Pletfri demo[/] {len(m.buildings)} buildings, {len(m.rooms())} rooms, "
            f"{cal.days[0].day:%a %d %b} to {cal.days[-1].day:%a %d %b %Y} ({tz.key}), "
            f"seed {opts.seed}\n  mosquitto 127.0.0.1:{stack.mosquitto.port}, "
            f"influxdb {stack.influxdb.url} db {stack.influxdb.database}; data in {folder}"
        )
        gw = GatewayProcess(keys.as_account(s, GATEWAY), _ms(cal.start))
        # Every device logs in as itself (sim/logins.py).
        pool = Pool(
            logins.device_settings(s.mqtt), s.demo.connections, s.demo.rate, logins=fleet_logins
        )
        phones = StickerPhones(s, opts.seed)
        try:
            gw.start()
            pool.subscribe(("ack", "need", "config"))
            pool.start()
            fleet = Fleet(
                m,
                cal,
                faults,
                pool,
                opts.seed,
                site_key(opts.seed),
                FleetConfig(
                    sensor_send_s=s.demo.sensor_send_s,
                    station_heartbeat_s=s.demo.station_heartbeat_s,
                ),
            )
            run.interrupted = _loop(run, platform, fleet, phones, pool, gw, opts, console)
            if not run.interrupted:
                end = _ms(cal.end)
                gw.set_clock(end)
                fleet.finish(end)
                with run.timed("sticker taps"):
                    phones.step(end, end + 2 * 3_600_000)
                    phones.join()
                with run.timed("wait for storage"):
                    _wait_stored(gw, pool)
                platform.tick_alerts(end, run.timed)
                with run.timed("backend: books"):
                    run.books = platform.books([d.day for d in cal.days if d.school_day], end)
                with run.timed("backend: inspections"):
                    run.quality = _inspections(platform.backend, s, cal, opts.seed, end)
                with run.timed("storage: roll up the simulated days"), Influx(s.influx) as influx:
                    # The CQs roll up as hours pass; the simulated days went by in minutes.
                    # Occupancy and heartbeats, the bulk (3.5 M points, 55 s of 66), are left to
                    # the CQs: their rollups serve ranges over 8 days, longer than the demo's.
                    bulk = ("occupancy", "device")
                    storage.backfill_all(influx, s.storage, s.backend.timezone, skip=bulk)
                with run.timed("backend: monthly report"):
                    run.contract_report = _contract_report(platform.backend, s, cal, end)
                # The logins `pletfri web demo` prints (sim/webdemo.py).
                demo_logins(platform.backend.registry, end)
                platform.wait_alerts(run.timed)
            run.phases["alerts (beside the fleet)"] = platform.alert_seconds
            run.stickers = _stickers(platform.backend, phones)
            run.sent_stickers = phones.taps.published
        finally:
            phones.close()
            pool.stop()
            final = gw.stop()
            platform.close()
        run.wall_s = time.monotonic() - started
        run.summary = _summarise(run, final, pool)
        run.summary.print(console)
        log.debug("wall seconds by phase: %s", {k: round(v, 1) for k, v in run.phases.items()})
        if serve:
            _serve(console)
    return run


def _summarise(run: DemoRun, stats: dict[str, Any], pool: Pool) -> Summary:
    """The run's figures, from the gateway's counters, InfluxDB and the books; written as
    summary.json and report.html in the run folder."""
    with Influx(run.settings.influx) as influx:
        points = {m: count(influx, m, f) for m, f in MEASUREMENTS.items()}
        alerts = alerts_by_kind(influx)
    f = run.faults
    faults = {
        "dead sensor": f.dead_sensor,
        "flat battery": f.flat_battery,
        "station offline 1 h": run.offline_station or "(no tap in that hour)",
        "card in two buildings": f"{f.offline_building} and {f.clone_building}",
    }
    b = run.books
    visits = (
        {
            k: getattr(b, k)
            for k in (
                "planned",
                "done",
                "missed",
                "unverifiable",
                "visits_stored",
                "verified",
                "no_leave_tap",
                "too_short",
                "unplanned",
                "buddy_visits",
            )
        }
        if b
        else {}
    )
    savings = (
        {
            k: float(getattr(b, k))
            for k in (
                "fixed_cleanings",
                "cleanings_avoided",
                "fixed_minutes",
                "minutes_saved",
                "due_not_cleaned",
            )
        }
        if b
        else {}
    )
    summary = Summary(
        buildings=len(run.municipality.buildings),
        rooms=len(run.municipality.rooms()),
        first_day=f"{run.calendar.days[0].day:%a %d %b}",
        last_day=f"{run.calendar.days[-1].day:%a %d %b %Y}",
        wall_s=run.wall_s,
        interrupted=run.interrupted,
        sent=pool.published + run.sent_stickers,
        sent_stickers=run.sent_stickers,
        sent_by_channel=dict(pool.sent),
        periods_sent=pool.periods,
        received=stats["received"],
        accepted=stats["accepted"],
        duplicates=stats["duplicates"],
        rejected=stats["rejected"],
        points_stored=stats["stored"],
        points=points,
        history_visits=run.history_visits,
        visits=visits,
        savings=savings,
        visits_by_day=b.by_day if b else {},
        alerts=alerts,
        faults=faults,
        database=run.settings.influx.database,
        phases={k: round(v, 1) for k, v in run.phases.items()},
        folder=str(run.folder),
        contract_report=[str(p) for p in run.contract_report],
        quality=run.quality,
        stickers=run.stickers,
    )
    (run.folder / "summary.json").write_text(summary.to_json())
    report.write(summary, run.folder / "report.html")
    return summary


def _inspections(
    backend: Backend, s: Settings, cal: Calendar, seed: int, now_ms: int
) -> dict[str, float]:
    days = [d.day for d in cal.days if d.school_day]
    for day in days:
        inspect_day(backend, s, day, seed, now_ms)
    if not days:
        return {}
    found = inspections.total(inspections.summary(backend.registry, days[0], days[-1]))
    return found.model_dump(exclude={"building", "name"})


def _contract_report(backend: Backend, s: Settings, cal: Calendar, now_ms: int) -> list[Path]:
    """The month of the simulated week's last day, as far as the week goes."""
    last = cal.days[-1].day
    r = monthly(backend, f"{last:%Y-%m}", now_ms, s.report)
    lang = s.report.language
    return render.write(
        s.run.dir / r.name,
        render.html(r, lang, backend.tz),
        render.pdf(r, lang, backend.tz),
    )


def _schedule(platform: Platform, cal: Calendar) -> dict[int, list[tuple[SimDay, str, int]]]:
    """Shift starts (step-aligned) on working days: when the backend plans and cleaners go."""
    out: dict[int, list[tuple[SimDay, str, int]]] = {}
    for d in cal.days:
        if not d.school_day:
            continue
        for name, (start, end) in platform.shift_windows(d.day).items():
            out.setdefault(start - start % STEP_MS, []).append((d, name, end))
    return out


def _alerts_due(local: datetime) -> bool:
    return local.minute == 0 and local.hour in ALERT_HOURS


def _loop(
    run: DemoRun,
    platform: Platform,
    fleet: Fleet,
    phones: StickerPhones,
    pool: Pool,
    gw: GatewayProcess,
    opts: DemoOptions,
    console: Console,
) -> bool:
    """Step through the simulated days; True if Ctrl-C stopped it."""
    cal = run.calendar
    t, end = _ms(cal.start), _ms(cal.end)
    schedule = _schedule(platform, cal)
    rotation = _rotation_times(cal) if opts.rotate_site_key else {}
    with run.timed("fleet"):
        fleet.start(t)
    real0, sim0, sent_before = time.monotonic(), t, 0
    with Progress(
        TextColumn("[bold]{task.fields[clock]}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[msgs]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("sim", total=(end - t) // STEP_MS, clock="", msgs="")
        try:
            while t < end:
                if t in rotation:
                    with run.timed("wait for storage"):
                        _wait_stored(gw, pool)
                    _rotate(run, platform, rotation[t], t)
                for day, shift, shift_end in schedule.get(t, []):
                    with run.timed("wait for storage"):
                        _wait_stored(gw, pool)
                    plans = platform.plan_shift(
                        day.day, shift, t, run.timed, need=shift == NEED_SHIFT
                    )
                    _clean(run, fleet, phones, plans, opts.seed, shift_end, shift == NEED_SHIFT)
                # The gateway must have taken the previous step before time moves on:
                # otherwise it would judge last-seen windows by a clock far ahead of it.
                with run.timed("wait for gateway"):
                    _catch_up(gw, pool, sent_before)
                sent_before = pool.published
                gw.set_clock(t + STEP_MS)
                with run.timed("fleet"):
                    # The phones tap their stickers while the fleet sends the same step.
                    phones.step(t, t + STEP_MS)
                    fleet.step(t, t + STEP_MS)
                with run.timed("sticker taps"):
                    phones.join()
                t += STEP_MS
                if t < end and _alerts_due(cal.local(t)):
                    with run.timed("wait for storage"):
                        _wait_stored(gw, pool)
                    platform.tick_alerts(t, run.timed)
                if opts.speed > 0:
                    ahead = (t - sim0) / 1000 / opts.speed - (time.monotonic() - real0)
                    if ahead > 0:
                        time.sleep(ahead)
                stats = gw.stats()
                clock = f"{cal.local(t):%a %d %b %H:%M}"
                msgs = (
                    f"sent {pool.published:,}  stored {stats['stored']:,} points  "
                    f"rejected {stats['rejected_total']:,}"
                )
                progress.update(task, advance=1, clock=clock, msgs=msgs)
                if not console.is_terminal and cal.local(t).hour % 6 == 0 == cal.local(t).minute:
                    # No live bar in a log file: a line every six simulated hours instead.
                    console.print(f"{clock}  {msgs}  ({time.monotonic() - real0:.0f} s)")
        except KeyboardInterrupt:
            console.print("[yellow]Ctrl-C: stopping; the data so far stays in the run folder[/]")
            return True
    return False


def _rotation_times(cal: Calendar) -> dict[int, str]:
    """Noon of the middle simulated day: start; a day later (or the last step): finish."""
    middle = cal.days[len(cal.days) // 2].day
    start = _ms(datetime.combine(middle, datetime.min.time(), cal.tz).replace(hour=12))
    end = _ms(cal.end) - STEP_MS
    return {start: "start", min(start + 86_400_000, end): "finish"}


def _rotate(run: DemoRun, platform: Platform, what: str, now_ms: int) -> None:
    be = platform.backend
    path = be.conf.site_key_file
    if what == "start":
        sitekey.start(path, be.registry, run.settings.mqtt, now_ms, overlap_days=1)
        run.rotation["started_ms"] = now_ms
        return
    be.pair_visits(now_ms)
    # Cards nobody tapped in the overlap (service leaders, a day off) are listed, not kept.
    _, _, left = sitekey.finish(
        path, be.registry, be.influx, run.settings.mqtt, now_ms, be.export_gateway_files, True
    )
    # The gateway re-reads its cards file once a (real) second: simulated time must not
    # run ahead of that, as hours of taps with the new pseudonyms alone would come first.
    time.sleep(1.5)
    run.rotation |= {
        "finished_ms": now_ms,
        "learned": len(sitekey.successors(be.registry)),
        "not_learned": len(left),
    }


def _clean(
    run: DemoRun,
    fleet: Fleet,
    phones: StickerPhones,
    plans: list[Plan],
    seed: int,
    shift_end: int,
    plant_stickers: bool,
) -> None:
    """The cleaners' taps for one shift's plans, and the planted card and offline faults;
    taps at stickers go to the phones (with planted fakes in `plant_stickers` shifts)."""
    m, tz = run.municipality, run.calendar.tz
    rooms = {r.id: r for r in m.rooms()}
    by_building: dict[str, list[Tap]] = {}
    for plan in plans:
        route = [PlannedRoom(rooms[e.room], e.minutes) for e in plan.due if e.room in rooms]
        start = datetime.fromtimestamp(plan.start_ms / 1000, tz)
        taps, _ = work_shift(m.building(plan.building), route, start, seed)
        taps = [t for t in taps if t.ms < shift_end + 3_600_000]
        phones.add([t for t in taps if t.station.startswith(STICKER_PREFIX)], plant_stickers)
        by_building[plan.building] = [t for t in taps if not t.station.startswith(STICKER_PREFIX)]
    extra: list[Tap] = []
    f = run.faults
    if run.offline_station is None and any(
        t.ms >= f.offline_from_ms for t in by_building.get(f.offline_building, [])
    ):
        run.offline_station = f.offline_station(by_building)
        run.clone = f.clone_tap(by_building, m)
        if run.clone is not None:
            extra.append(run.clone)
    taps = [t for ts in by_building.values() for t in ts]
    fleet.add_taps(taps + extra, run.offline_station)


def _stickers(backend: Backend, phones: StickerPhones) -> dict[str, Any]:
    return {
        "stickers": len(binding.stickers(backend.registry)),
        "rooms_without_check_in": len(binding.rooms_without_check_in(backend.registry)),
        "taps": dict(phones.results),
        "planted": dict(phones.planted),
        "caught": dict(phones.caught),
        "outbox": phones.taps.pending(),
    }


def _serve(console: Console) -> None:
    console.print("[bold]servers still running[/] for Grafana or InfluxQL; Ctrl-C stops them")
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(1)


def run_demo(base: Settings, opts: DemoOptions, serve: bool = False) -> DemoRun:
    return simulate(base, opts, Console(), serve=serve)
