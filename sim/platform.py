"""What the demo asks of the backend, at simulated times: the registry, the shift's plan
and need, visits, verification, savings and alerts (backend/service.py, backend/alerts)."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import signal
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from backend.alerts.backend_sources import BackendSources
from backend.alerts.engine import AlertEngine
from backend.cleaning import shifts
from backend.cleaning.planner import Plan
from backend.cleaning.visits import Visit, read_visits, visit_line
from backend.service import Backend
from pletfri import logs
from pletfri.settings import Settings
from pletfri_fw.pseudonym import Pseudonymiser
from sim import registry

Timer = Callable[[str], AbstractContextManager[None]]


@dataclass
class Books:
    """The week's verification and savings, summed over buildings and days."""

    planned: int = 0
    done: int = 0
    missed: int = 0
    too_short: int = 0
    unplanned: int = 0
    no_leave_tap: int = 0
    buddy_visits: int = 0
    fixed_cleanings: float = 0.0
    cleanings_avoided: float = 0.0
    fixed_minutes: float = 0.0
    minutes_saved: float = 0.0
    due_not_cleaned: int = 0
    # Planned rooms without a station to tap (corridors, some others): cannot be verified.
    unverifiable: int = 0
    # Visits stored in the simulated days (the savings count them as cleanings done), and
    # those that prove a cleaning: both taps, long enough for the room.
    visits_stored: int = 0
    verified: int = 0
    by_day: dict[str, dict[str, int]] = field(default_factory=dict)


class Platform:
    def __init__(self, settings: Settings, buildings: int, seed: int) -> None:
        self.settings = settings
        g = settings.gateway
        self.data, self.municipality = registry.load(
            settings.backend.database_file,
            g.registry_file,
            g.cards_file or Path(g.registry_file).with_name("cards.csv"),
            buildings,
            seed,
        )
        self.backend = Backend(settings)
        # The alert engine runs in a process of its own beside the fleet: in the fleet's
        # process it would take the interpreter lock from it for seconds per evaluation.
        level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
        self._alerts = ProcessPoolExecutor(
            1, mp.get_context("spawn"), initializer=_start_alerts, initargs=(settings, level)
        )
        self._pending: Future[float] | None = None
        self._started = False
        self.alert_seconds = 0.0

    def seed_history(self, before: date, site_key: bytes) -> int:
        """Each room's last cleaning on the working day before the run, as visits.

        The contract did not begin with the simulated week: without a last cleaning, every
        room's hygiene floor would make it due on the first day. Returns the visits written.
        """
        day = before - timedelta(days=1)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        pseudo = Pseudonymiser(site_key)
        window = self.shift_windows(day).get("afternoon") or next(
            iter(self.shift_windows(day).values())
        )
        lines = []
        for b in self.municipality.buildings:
            if not b.cleaners:
                continue
            card = pseudo.card(b.cleaners[0].uid)
            t = window[0]
            for r in b.rooms:
                if r.station is None:
                    continue
                lines.append(visit_line(Visit(b.id, r.id, card, t, t + 600_000, planned=True)))
                t += 60_000
        self.backend.influx.write(lines)
        return len(lines)

    def shift_windows(self, day: date) -> dict[str, tuple[int, int]]:
        return {name: s.window(day, self.backend.tz) for name, s in self.backend.shifts.items()}

    def plan_shift(
        self, day: date, shift: str, now_ms: int, timed: Timer, need: bool = True
    ) -> list[Plan]:
        """Visits so far, then the shift's plans and (if `need`) every station's need."""
        with timed("backend: visits"):
            self.backend.pair_visits(now_ms)
        with timed("backend: plans"):
            plans = self.backend.make_plans(day, shift, now_ms)
        if need:
            with timed("backend: need"):
                self.backend.publish_need(now_ms)
        return plans

    def tick_alerts(self, now_ms: int, timed: Timer) -> None:
        """Pair the visits and evaluate the alerts at `now_ms`, in the alerts' process.

        The previous evaluation must have finished first, so they run in order; its wall
        time adds to `alert_seconds`, the wait for it to the phase "alerts: waiting".
        """
        self.wait_alerts(timed)
        self._pending = self._alerts.submit(_tick_alerts, now_ms)
        self._started = True

    def wait_alerts(self, timed: Timer) -> None:
        if self._pending is not None:
            with timed("alerts: waiting"):
                self.alert_seconds += self._pending.result()
            self._pending = None

    def books(self, days: list[date], now_ms: int) -> Books:
        self.backend.pair_visits(now_ms)
        b = Books()
        for day in days:
            day_total = {"planned": 0, "done": 0, "missed": 0, "too_short": 0}
            for v in self.backend.verify(day, now_ms).values():
                b.planned += v.planned
                b.done += v.done
                b.missed += v.missed
                b.too_short += v.too_short
                b.unplanned += v.unplanned
                b.no_leave_tap += v.no_leave_tap
                b.buddy_visits += v.buddy_visits
                b.unverifiable += v.unverifiable
                for k in day_total:
                    day_total[k] += getattr(v, k)
            start, end = shifts.day_window(day, self.backend.tz)
            b.verified += sum(
                1
                for v in read_visits(self.backend.influx, start, min(end, now_ms))
                if v.complete and not v.short
            )
            b.by_day[day.isoformat()] = day_total
        # Also stores each day's savings per building for the savings dashboard.
        s = self.backend.record_savings(days[0], days[-1], now_ms)
        b.fixed_cleanings = s.fixed_cleanings
        b.cleanings_avoided = s.avoided
        b.fixed_minutes = s.fixed_minutes
        b.minutes_saved = s.minutes_saved
        b.due_not_cleaned = s.due_not_cleaned
        b.visits_stored = s.done
        return b

    def close(self) -> None:
        with contextlib.suppress(Exception):
            # An error in the last evaluation was reported where it was waited for.
            if self._pending is not None:
                self._pending.result()
        if self._started:
            with contextlib.suppress(Exception):
                self._alerts.submit(_close_alerts).result()
        self._alerts.shutdown()
        self.backend.close()


# The alerts' process: one engine and its sources for the whole run.
_worker: dict[str, Any] = {}


def _start_alerts(settings: Settings, log_level: str) -> None:
    # Ctrl-C reaches the whole process group: the demo decides when this process stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logs.setup(log_level)
    for name in ("gateway", "backend"):
        logging.getLogger(name).setLevel(logging.WARNING)
    sources = BackendSources(settings)
    _worker["sources"] = sources
    _worker["engine"] = AlertEngine(settings, sources)


def _tick_alerts(now_ms: int) -> float:
    t0 = time.perf_counter()
    _worker["sources"].backend.pair_visits(now_ms)
    _worker["engine"].tick(now_ms)
    return time.perf_counter() - t0


def _close_alerts() -> None:
    _worker["engine"].close()
    _worker["sources"].close()
