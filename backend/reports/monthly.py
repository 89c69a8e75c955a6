"""The monthly contract report: what the contract manager, the municipality and the job
centre read each month. Figures only; backend/reports/render.py turns them into HTML and PDF.

Sections, each from the same functions the rest of the backend uses, so the report agrees
with the API, the dashboards and the alerts:

- verification: planned cleanings against done, missed and too short, per day and building
  (`Backend.verify`, one local day at a time);
- demand savings: cleanings avoided and hours saved against the fixed schedule, and the due
  rooms not cleaned (`Backend.savings_by_building`);
- quality: the month's finished INSTA 800 inspections per building: rooms inspected and
  approved against their agreed level (`backend.quality.summary`);
- training: trainee visits, with and without a buddy, training hours and the floor area
  cleaned, per track (`backend.training.progress` summed); no person is named;
- environment: the hours saved turned into water, detergent and machine energy with the
  contract's own factors (`report.*` settings), shown with the factors, as estimates.

Verification, savings and training are computed from person-level visits. Before the
retention rule deletes a day's visits (backend/people/retention.py), `keep` stores the month's
figures per day and building (verification, savings) and per track (training) in SQLite;
the report then reads those kept figures for the days whose visits are gone, so a month's
report tells the same after retention as before.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from backend.cleaning import plans
from backend.cleaning.savings import Savings, total
from backend.cleaning.shifts import local_day
from backend.cleaning.verification import DayVerification
from backend.quality import inspections
from backend.quality.inspections import BuildingQuality
from backend.registry import Registry
from backend.reports import training
from backend.reports.training import Progress
from backend.service import Backend, BackendError
from pletfri.settings import ReportSettings, ReportTargets


@dataclass(slots=True)
class DayRow:
    day: date
    planned: int = 0
    done: int = 0
    missed: int = 0
    too_short: int = 0


@dataclass(slots=True)
class BuildingRow:
    building: str
    name: str
    planned: int = 0
    done: int = 0
    missed: int = 0
    unplanned: int = 0
    too_short: int = 0
    no_leave_tap: int = 0
    unverifiable: int = 0
    fixed_cleanings: float = 0.0
    avoided: float = 0.0
    hours_saved: float = 0.0
    due_not_cleaned: int = 0

    @property
    def done_pct(self) -> float | None:
        """Planned cleanings made, in percent (`done` counts every visit, planned or not)."""
        return 100 * (self.planned - self.missed) / self.planned if self.planned else None


@dataclass(slots=True)
class TrainingRow:
    building: str
    name: str
    trainees: int = 0
    visits: int = 0
    with_buddy: int = 0
    hours: float = 0.0
    m2_with_buddy: float = 0.0
    m2_alone: float = 0.0
    ready: int = 0


@dataclass(slots=True)
class Environment:
    hours_saved: float
    water_l: float
    detergent_l: float
    energy_kwh: float
    factors: ReportSettings


@dataclass(slots=True)
class MonthlyReport:
    month: str
    first: date
    last: date
    building: str | None
    made_ms: int
    days: list[DayRow] = field(default_factory=list)
    buildings: list[BuildingRow] = field(default_factory=list)
    training: list[TrainingRow] = field(default_factory=list)
    quality: list[BuildingQuality] = field(default_factory=list)
    environment: Environment | None = None
    targets: ReportTargets = field(default_factory=ReportTargets)
    # The earlier months with plans, oldest first, back to `report.trend_months` in all
    # (this one included): the first page's last month and trend. Their own history empty.
    history: list[MonthlyReport] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The report's file name, without suffix."""
        return f"report-{self.month}" + (f"-{self.building}" if self.building else "")

    def total(self) -> BuildingRow:
        out = BuildingRow("", "")
        for b in self.buildings:
            for name in (
                "planned", "done", "missed", "unplanned", "too_short", "no_leave_tap",
                "unverifiable",
                "fixed_cleanings", "avoided", "hours_saved", "due_not_cleaned",
            ):  # fmt: skip
                setattr(out, name, getattr(out, name) + getattr(b, name))
        for name in ("fixed_cleanings", "avoided", "hours_saved"):
            setattr(out, name, round(getattr(out, name), 1))
        return out


def month_span(month: str | None, now_ms: int, backend: Backend) -> tuple[str, date, date]:
    """(YYYY-MM, first day, last day covered): a past month whole; the current one up to
    yesterday; by default the last whole month."""
    today = local_day(now_ms, backend.tz)
    if month is None:
        prev = today.replace(day=1) - timedelta(days=1)
        month = f"{prev.year:04d}-{prev.month:02d}"
    try:
        year, mon = (int(x) for x in month.split("-"))
        first = date(year, mon, 1)
    except ValueError:
        raise BackendError(f"month {month!r} is not YYYY-MM, e.g. 2026-11") from None
    last = date(year, mon, calendar.monthrange(year, mon)[1])
    if first >= today:
        raise BackendError(f"month {month} has not begun yet (today is {today})")
    return f"{year:04d}-{mon:02d}", first, min(last, today - timedelta(days=1))


def monthly(
    backend: Backend,
    month: str | None,
    now_ms: int,
    factors: ReportSettings,
    building: str | None = None,
    history: bool = True,
) -> MonthlyReport:
    """The month's report; with `history`, the earlier months' too (`MonthlyReport.history`)."""
    month, first, last = month_span(month, now_ms, backend)
    names = {b.id: b.name for b in backend.registry.buildings()}
    if building is not None and building not in names:
        raise BackendError(
            f"no building {building!r} in the registry; `pletfri registry show` counts them"
        )
    # From the first day the planner ran: before it, the fixed schedule's cleanings would
    # all count as avoided.
    planned = plans.first_day(backend.registry, first, last)
    if planned is None:
        raise BackendError(
            f"no plans were made between {first} and {last}: the report covers days the "
            "planner ran (`pletfri backend run`, or `pletfri plan`)"
        )
    month_first, first = first, planned
    report = MonthlyReport(month, first, last, building, now_ms, targets=factors.targets)
    # Inspections need no plan: the whole month's.
    report.quality = inspections.summary(backend.registry, month_first, last, building)
    rows = {b: BuildingRow(b, names[b]) for b in ([building] if building else sorted(names))}
    kept = kept_days(backend.registry, first, last, building)
    # Visits counted per room and day from the hourly rollups where they hold the day.
    counted = backend.room_days(first, last, now_ms, building)
    saved: dict[str, list[Savings]] = {}
    day = first
    while day <= last:
        d = DayRow(day)
        if day in kept:
            verified, savings = kept[day]
        else:
            verified = list(backend.verify(day, now_ms, building, counted.get(day)).values())
            savings = list(
                backend.savings_by_building(day, day, now_ms, building, counted).values()
            )
        for sv in savings:
            saved.setdefault(sv.building or "", []).append(sv)
        for v in verified:
            if v.building not in rows:
                continue  # a building removed from the registry since its day was kept
            row = rows[v.building]
            for name in ("planned", "done", "missed", "too_short"):
                setattr(row, name, getattr(row, name) + getattr(v, name))
                setattr(d, name, getattr(d, name) + getattr(v, name))
            row.unplanned += v.unplanned
            row.no_leave_tap += v.no_leave_tap
            row.unverifiable += v.unverifiable
        report.days.append(d)
        day += timedelta(days=1)
    # Day by day, as the savings dashboard's points are: a kept day and a live one add up.
    for b, parts in saved.items():
        if b not in rows:
            continue
        s = total(parts, first, last, b)
        row = rows[b]
        row.fixed_cleanings = s.fixed_cleanings
        row.avoided = s.avoided
        row.hours_saved = round(s.minutes_saved / 60, 1)
        row.due_not_cleaned = s.due_not_cleaned
    report.buildings = list(rows.values())
    report.training = kept_training(backend.registry, month, building)
    if report.training is None:
        report.training = _training(training.progress(backend, first, last, factors, building))
    hours = report.total().hours_saved
    report.environment = Environment(
        hours_saved=hours,
        water_l=round(hours * factors.water_l_per_hour, 1),
        detergent_l=round(hours * factors.detergent_ml_per_hour / 1000, 2),
        energy_kwh=round(hours * factors.energy_kwh_per_hour, 1),
        factors=factors,
    )
    if history:
        report.history = _earlier(backend, month_first, now_ms, factors, building)
    return report


def _earlier(
    backend: Backend, first: date, now_ms: int, factors: ReportSettings, building: str | None
) -> list[MonthlyReport]:
    """The same report for each earlier month, back to the first one without plans."""
    out: list[MonthlyReport] = []
    for _ in range(factors.trend_months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
        try:
            out.append(monthly(backend, f"{first:%Y-%m}", now_ms, factors, building, False))
        except BackendError:  # no plans that month: the system did not run yet
            break
    return out[::-1]


def _training(found: list[Progress]) -> list[TrainingRow]:
    """The trainees' progress summed per track (their home building), those with visits."""
    rows: dict[str, TrainingRow] = {}
    for p in found:
        if not p.visits:
            continue
        row = rows.setdefault(p.building, TrainingRow(p.building, p.building_name))
        row.trainees += 1
        row.visits += p.visits
        row.with_buddy += p.with_buddy
        row.hours += p.hours
        row.m2_with_buddy += p.m2_with_buddy
        row.m2_alone += p.m2_alone
        row.ready += p.ready
    for row in rows.values():
        row.hours = round(row.hours, 1)
    return [rows[b] for b in sorted(rows)]


# --- figures kept past the retention of the visits they come from ---------------------------

KEPT_TABLES = """
CREATE TABLE IF NOT EXISTS report_kept_days (
    day TEXT NOT NULL,
    building TEXT NOT NULL,
    verification TEXT NOT NULL,
    savings TEXT NOT NULL,
    PRIMARY KEY (day, building)
);
CREATE TABLE IF NOT EXISTS report_kept_training (
    month TEXT NOT NULL,
    building TEXT NOT NULL,
    row TEXT NOT NULL,
    PRIMARY KEY (month, building)
);
"""


def _tables(registry: Registry) -> None:
    with registry.transaction() as db:
        for statement in KEPT_TABLES.split(";"):
            if statement.strip():
                db.execute(statement)


def _json(obj: object) -> str:
    return json.dumps(asdict(obj), default=str)  # type: ignore[call-overload]


def keep(backend: Backend, month: str, now_ms: int, factors: ReportSettings) -> int:
    """Store one month's figures per day and building, and its training rows per track,
    before the retention rule deletes the visits they come from. The whole month is kept
    at once (as far as it has gone) the first time any of its days is to be deleted, so
    the training's trainee counts are those of the month. Returns the days kept."""
    _tables(backend.registry)
    first = date.fromisoformat(month + "-01")
    last = min(
        date(first.year, first.month, calendar.monthrange(first.year, first.month)[1]),
        local_day(now_ms, backend.tz) - timedelta(days=1),
    )
    done = {
        r["day"]
        for r in backend.registry.query(
            "SELECT DISTINCT day FROM report_kept_days WHERE day >= ? AND day <= ?",
            (first.isoformat(), last.isoformat()),
        )
    }
    rows: list[tuple[str, str, str, str]] = []
    day = first
    while day <= last:
        if day.isoformat() not in done:
            savings = backend.savings_by_building(day, day, now_ms)
            for b, v in backend.verify(day, now_ms).items():
                s = savings.get(b) or Savings(day, day, b)
                rows.append((day.isoformat(), b, _json(v), _json(s)))
        day += timedelta(days=1)
    trained = _training(training.progress(backend, first, last, factors))
    with backend.registry.transaction() as db:
        db.executemany("INSERT OR IGNORE INTO report_kept_days VALUES (?, ?, ?, ?)", rows)
        db.executemany(
            "INSERT OR IGNORE INTO report_kept_training VALUES (?, ?, ?)",
            [(month, t.building, _json(t)) for t in trained],
        )
        # A month kept without trainees still says so: its training section stays empty.
        db.execute("INSERT OR IGNORE INTO report_kept_training VALUES (?, '', '{}')", (month,))
    return len({r[0] for r in rows})


def _verification(raw: str) -> DayVerification:
    d = json.loads(raw)
    d["day"] = date.fromisoformat(d["day"])
    return DayVerification(**d)


def _savings(raw: str) -> Savings:
    d = json.loads(raw)
    d["first"], d["last"] = date.fromisoformat(d["first"]), date.fromisoformat(d["last"])
    return Savings(**d)


def kept_days(
    registry: Registry, first: date, last: date, building: str | None
) -> dict[date, tuple[list[DayVerification], list[Savings]]]:
    """The kept figures of the days in first..last: {day: (verification, savings)}."""
    _tables(registry)
    where = " AND building = ?" if building else ""
    out: dict[date, tuple[list[DayVerification], list[Savings]]] = {}
    for r in registry.query(
        "SELECT day, verification, savings FROM report_kept_days "
        f"WHERE day >= ? AND day <= ?{where} ORDER BY day, building",
        (first.isoformat(), last.isoformat(), *([building] if building else [])),
    ):
        found = out.setdefault(date.fromisoformat(r["day"]), ([], []))
        found[0].append(_verification(r["verification"]))
        found[1].append(_savings(r["savings"]))
    return out


def kept_training(registry: Registry, month: str, building: str | None) -> list[TrainingRow] | None:
    """The month's kept training rows, or None if the month was not kept."""
    _tables(registry)
    rows = registry.query(
        "SELECT building, row FROM report_kept_training WHERE month = ? ORDER BY building",
        (month,),
    )
    if not rows:
        return None
    return [
        TrainingRow(**json.loads(r["row"]))
        for r in rows
        if r["building"] and (building is None or r["building"] == building)
    ]
