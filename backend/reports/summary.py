"""The monthly report's first page: the month's key figures against the contract's targets,
each beside last month's, the buildings that need attention and why, and the series the
comparing charts draw. Figures only, all from the `MonthlyReport` (and its `history`);
backend/reports/render.py draws them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from backend.quality import inspections
from backend.reports.monthly import BuildingRow, MonthlyReport

# Changes smaller than this (in the figure's own unit) are "flat": rounding, not a trend.
FLAT = 0.05
ATTENTION = 5
# The compliance chart shows at most this many buildings, the worst first.
COMPLIANCE_BARS = 10
# The attention ranking's weight of one failed inspection, in percentage points.
FAILED_INSPECTION = 10.0

Arrow = Literal["up", "down", "flat"]


@dataclass(slots=True)
class Figure:
    """One key figure: `key` names it (render.TEXT), `unit` is "%" or a unit key."""

    key: str
    value: float | None
    previous: float | None
    target: float | None
    unit: str = ""
    # What the value counts, e.g. "123 of 1,000" (the same for last month).
    detail: str = ""
    previous_detail: str = ""

    @property
    def arrow(self) -> Arrow | None:
        if self.value is None or self.previous is None:
            return None
        if abs(self.value - self.previous) < FLAT:
            return "flat"
        return "up" if self.value > self.previous else "down"

    @property
    def good(self) -> bool | None:
        """Whether the change is good: every figure here is better higher."""
        return None if self.arrow in (None, "flat") else self.arrow == "up"

    @property
    def below_target(self) -> bool:
        return self.value is not None and self.target is not None and self.value < self.target


@dataclass(slots=True)
class Attention:
    building: str
    name: str
    score: float
    # (reason key, its values) for render.TEXT: reasons read in either language.
    reasons: list[tuple[str, dict[str, float]]] = field(default_factory=list)


@dataclass(slots=True)
class TrendPoint:
    month: str
    verified_pct: float | None
    approval_pct: float | None


@dataclass(slots=True)
class Summary:
    figures: list[Figure]
    attention: list[Attention]
    trend: list[TrendPoint]
    # Buildings with planned cleanings, the lowest planned-done % first.
    compliance: list[BuildingRow]
    previous: MonthlyReport | None


def previous(r: MonthlyReport) -> MonthlyReport | None:
    """Last month's report, if the calendar month before had plans."""
    before = _month_before(r.month)
    return next((h for h in r.history if h.month == before), None)


def _month_before(month: str) -> str:
    year, mon = (int(x) for x in month.split("-"))
    return f"{year - 1:04d}-12" if mon == 1 else f"{year:04d}-{mon - 1:02d}"


def approval_pct(r: MonthlyReport) -> float | None:
    rate = inspections.total(r.quality).approval_rate if r.quality else None
    return None if rate is None else round(100 * rate, 1)


def verified_pct(r: MonthlyReport) -> float | None:
    pct = r.total().done_pct
    return None if pct is None else round(pct, 1)


def _avoided_pct(total: BuildingRow) -> float | None:
    if not total.fixed_cleanings:
        return None
    return round(100 * total.avoided / total.fixed_cleanings, 1)


def _target(value: float) -> float | None:
    return value or None


def figures(r: MonthlyReport, last: MonthlyReport | None) -> list[Figure]:
    targets = r.targets
    now, before = r.total(), last.total() if last else None

    def both(f: Callable[[MonthlyReport], float | None]) -> tuple[float | None, float | None]:
        return f(r), (f(last) if last else None)

    def avoided_detail(t: BuildingRow | None) -> str:
        return "" if t is None else f"{t.avoided:,.0f} / {t.fixed_cleanings:,.0f}"

    def water(x: MonthlyReport) -> float | None:
        return x.environment.water_l if x.environment else None

    def env_detail(x: MonthlyReport | None) -> str:
        e = x.environment if x else None
        return "" if e is None else f"{e.detergent_l:,.1f} l · {e.energy_kwh:,.0f} kWh"

    def done_detail(t: BuildingRow | None) -> str:
        return "" if t is None else f"{t.planned - t.missed:,} / {t.planned:,}"

    return [
        Figure("kpi_verified", *both(verified_pct), _target(targets.verified_pct), "%",
               done_detail(now), done_detail(before)),
        Figure("kpi_approval", *both(approval_pct), _target(targets.approval_pct), "%"),
        Figure("kpi_avoided", _avoided_pct(now), _avoided_pct(before) if before else None,
               _target(targets.avoided_pct), "%", avoided_detail(now), avoided_detail(before)),
        Figure("kpi_hours", now.hours_saved, before.hours_saved if before else None,
               _target(targets.hours_saved), "unit_hours"),
        Figure("kpi_trainees", *both(lambda x: float(sum(t.trainees for t in x.training))),
               _target(targets.trainees)),
        Figure("kpi_ready", *both(lambda x: float(sum(t.ready for t in x.training))),
               _target(targets.ready)),
        Figure("kpi_resources", *both(water), None, "unit_water", env_detail(r),
               env_detail(last)),
    ]  # fmt: skip


def attention(r: MonthlyReport, n: int = ATTENTION) -> list[Attention]:
    """The `n` buildings furthest from the contract: percentage points below the verified
    and approval targets, `FAILED_INSPECTION` per failed inspection, 1 per due room not
    cleaned; buildings with nothing wrong are left out."""
    quality = {q.building: q for q in r.quality}
    out = []
    for b in r.buildings:
        a = Attention(b.building, b.name, 0.0)
        target = r.targets.verified_pct
        if b.done_pct is not None and b.missed and b.done_pct < (target or 100):
            a.score += (target or 100) - b.done_pct
            a.reasons.append(("why_missed", {"missed": b.missed, "planned": b.planned,
                                             "pct": b.done_pct}))  # fmt: skip
        q = quality.get(b.building)
        if q is not None:
            failed = q.inspections - q.inspections_approved
            if failed:
                a.score += FAILED_INSPECTION * failed
                a.reasons.append(("why_failed", {"failed": failed, "of": q.inspections}))
            target = r.targets.approval_pct
            if target and q.approval_rate is not None and 100 * q.approval_rate < target:
                a.score += target - 100 * q.approval_rate
                a.reasons.append(("why_approval", {"pct": 100 * q.approval_rate}))
        if b.due_not_cleaned:
            a.score += b.due_not_cleaned
            a.reasons.append(("why_due", {"due": b.due_not_cleaned}))
        if b.too_short:
            a.reasons.append(("why_short", {"short": b.too_short}))
        if a.score > 0:
            out.append(a)
    return sorted(out, key=lambda a: (-a.score, a.building))[:n]


def trend(r: MonthlyReport) -> list[TrendPoint]:
    return [TrendPoint(m.month, verified_pct(m), approval_pct(m)) for m in [*r.history, r]]


def compliance(r: MonthlyReport, n: int = COMPLIANCE_BARS) -> list[BuildingRow]:
    found = [b for b in r.buildings if b.done_pct is not None]
    return sorted(found, key=lambda b: (b.done_pct, b.building))[:n]


def summary(r: MonthlyReport) -> Summary:
    last = previous(r)
    return Summary(figures(r, last), attention(r), trend(r), compliance(r), last)
