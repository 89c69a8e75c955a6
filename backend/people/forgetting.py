"""The retention rule applied in one go, for `pletfri backend retention --run` (cron or a
systemd timer, docs/operations.md) and the daily round of `pletfri backend run`.

Person-level data older than ``backend.retention_days`` whole local days goes:

- InfluxDB: `tap` and `visit` points (they carry card pseudonyms), after their days are
  summed into `visit_day` points that name no one (backend/people/retention.py);
- SQLite: alerts about one card (`unknown_card`, `card_travel`: their subject is a card
  pseudonym) opened before the cut-off, and every alert message (`alert_outbox`, which
  holds a leader's address) due before it.

Before the visits go, the monthly report's figures of their months are kept
(backend/reports/monthly.py `keep`), so a month's report tells the same afterwards. What was
removed is logged and returned: counts per measurement and table, and the cut-off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from backend.cleaning.planner import DAY_MS
from backend.cleaning.shifts import day_window, local_day
from backend.people import retention
from backend.reports import monthly as report
from backend.service import Backend
from pletfri.influx import Influx

log = logging.getLogger(__name__)

MEASUREMENTS = {"tap": "card", "visit": "duration_s"}
CARD_RULES = ("unknown_card", "card_travel")


@dataclass
class Removed:
    cutoff_ms: int
    keep_from: date
    applied: bool
    days_summarised: int = 0
    months_kept: list[str] = field(default_factory=list)
    points: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def text(self) -> str:
        what = "removed" if self.applied else "would remove (dry run; --run applies it)"
        points = ", ".join(f"{n} {m} points" for m, n in self.points.items())
        rows = ", ".join(f"{n} {t} rows" for t, n in self.rows.items())
        kept = (
            f"; report figures kept for {', '.join(self.months_kept)}" if self.months_kept else ""
        )
        return (
            f"retention: person-level data before {self.keep_from} (cut-off {self.cutoff_ms} ms): "
            f"{what} {points}, {rows}; {self.days_summarised} days summed into visit_day{kept}"
        )


def cutoff(retention_days: int, backend: Backend, now_ms: int) -> tuple[date, int]:
    """The first local day kept in full, and its start: whole days only."""
    keep_from = local_day(now_ms - retention_days * DAY_MS, backend.tz) + timedelta(days=1)
    return keep_from, day_window(keep_from, backend.tz)[0]


def _count(influx: Influx, measurement: str, field_name: str, before_ms: int) -> int:
    rows = influx.query(
        f'SELECT count("{field_name}") FROM "{measurement}" WHERE time < {before_ms}ms'
    )
    return int(rows[0]["count"]) if rows else 0


def _months(influx: Influx, backend: Backend, before_ms: int) -> list[str]:
    """The months that have visits before the cut-off, oldest first."""
    first = retention.first_visit_ms(influx, before_ms)
    if first is None:
        return []
    day, last = local_day(first, backend.tz), local_day(before_ms - 1, backend.tz)
    out = []
    while day <= last:
        out.append(f"{day:%Y-%m}")
        day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return out


def _sqlite(backend: Backend, before_ms: int, apply: bool) -> dict[str, int]:
    marks = ", ".join("?" for _ in CARD_RULES)
    about_cards = f"rule IN ({marks}) AND opened_ms < ?"
    args = (*CARD_RULES, before_ms)
    messages = f"due_ms < ? OR alert_id IN (SELECT id FROM alert WHERE {about_cards})"
    with backend.registry.transaction() as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'alert'").fetchall():
            return {"alert": 0, "alert_outbox": 0}  # the alerts have never run here
        if not apply:
            return {
                "alert": db.execute(
                    f"SELECT count(*) FROM alert WHERE {about_cards}", args
                ).fetchone()[0],
                "alert_outbox": db.execute(
                    f"SELECT count(*) FROM alert_outbox WHERE {messages}", (before_ms, *args)
                ).fetchone()[0],
            }
        outbox = db.execute(f"DELETE FROM alert_outbox WHERE {messages}", (before_ms, *args))
        alerts = db.execute(f"DELETE FROM alert WHERE {about_cards}", args)
        return {"alert": alerts.rowcount, "alert_outbox": outbox.rowcount}


def run(backend: Backend, now_ms: int, apply: bool = True) -> Removed:
    """Apply the retention rule (or, with apply=False, say what it would remove)."""
    influx = backend.influx
    keep_from, before = cutoff(backend.conf.retention_days, backend, now_ms)
    out = Removed(before, keep_from, apply)
    out.points = {m: _count(influx, m, f, before) for m, f in MEASUREMENTS.items()}
    if apply:
        for month in _months(influx, backend, before):
            if report.keep(backend, month, now_ms, backend.settings.report):
                out.months_kept.append(month)
        out.days_summarised, _ = retention.forget(
            influx, backend.conf.retention_days, backend.tz, now_ms
        )
    out.rows = _sqlite(backend, before, apply)
    log.info(out.text())
    return out
