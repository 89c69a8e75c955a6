"""The demo's closing summary: what the platform did, each figure from where it is kept.

Message counts come from the gateway's own counters, stored points from InfluxQL counts,
visits, savings and alerts from what the backend wrote; tests/sim checks each against
InfluxQL on the stored data, so the demo's claims are true.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from pletfri.influx import Influx
from sim import report

if TYPE_CHECKING:
    from sim.demo import DemoRun
    from sim.link import Pool

MEASUREMENTS = {
    "tap": "card",
    "occupancy": "period_s",
    "device": "online",
    "visit": "duration_s",
    "need": "score",
    "alert": "text",
}


@dataclass
class Summary:
    buildings: int
    rooms: int
    first_day: str
    last_day: str
    wall_s: float
    interrupted: bool
    sent: int
    sent_by_channel: dict[str, int]
    periods_sent: int
    received: int
    accepted: int
    duplicates: int
    rejected: dict[str, int]
    points_stored: int
    points: dict[str, int]
    history_visits: int = 0
    visits: dict[str, int] = field(default_factory=dict)
    savings: dict[str, float] = field(default_factory=dict)
    # Planned, done, missed and too short per simulated working day (summary.json only).
    visits_by_day: dict[str, dict[str, int]] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    faults: dict[str, str] = field(default_factory=dict)
    database: str = ""
    folder: str = ""
    contract_report: list[str] = field(default_factory=list)
    quality: dict[str, Any] = field(default_factory=dict)
    # NFC stickers (sim/stickers.py): taps by result, planted forged/replayed and caught.
    stickers: dict[str, Any] = field(default_factory=dict)
    # Of `sent`, the sticker taps the backend published for the cleaners' phones.
    sent_stickers: int = 0
    # Wall seconds per phase of the run (in summary.json, not printed).
    phases: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def print(self, console: Console) -> None:
        t = Table(title="Pletfri demo: what happened", show_header=False, title_justify="left")
        t.add_column(style="bold")
        t.add_column()
        t.add_row(
            "simulated",
            f"{self.buildings} buildings, {self.rooms} rooms, {self.first_day} to {self.last_day}"
            + (" [yellow](interrupted)[/]" if self.interrupted else ""),
        )
        t.add_row("wall time", f"{self.wall_s:.0f} s")
        t.add_row(
            "messages",
            f"{self.sent:,} sent by devices"
            + (
                f" ({self.sent_stickers:,} sticker taps, by the backend)"
                if self.sent_stickers
                else ""
            )
            + f", {self.received:,} handled by the gateway, "
            f"{self.accepted:,} accepted, {self.duplicates:,} duplicates dropped, "
            f"{sum(self.rejected.values()):,} rejected"
            + (
                f" ({', '.join(f'{k} {v}' for k, v in sorted(self.rejected.items()))})"
                if self.rejected
                else ""
            ),
        )
        t.add_row(
            "stored",
            f"{self.points_stored:,} points: "
            + ", ".join(f"{k} {v:,}" for k, v in self.points.items() if v)
            + f" (of the visits, {self.history_visits:,} are each room's last cleaning "
            "before the week, written at the start)",
        )
        if self.visits:
            v = self.visits
            t.add_row(
                "visits",
                f"{v['done']:,} for {v['planned']:,} planned cleanings ({v['missed']:,} missed, "
                f"{v['unplanned']:,} unplanned); {v['verified']:,} verified, "
                f"{v['too_short']:,} too short, {v['no_leave_tap']:,} without a leaving tap; "
                f"{v['buddy_visits']:,} trainee visits with a buddy; {v['unverifiable']:,} "
                "planned rooms have no station or sticker to tap",
            )
        if self.savings:
            sv = self.savings
            t.add_row(
                "against the fixed schedule",
                f"{sv['cleanings_avoided']:,.0f} of {sv['fixed_cleanings']:,.0f} cleanings "
                f"avoided, {sv['minutes_saved'] / 60:,.0f} hours saved "
                f"({sv['minutes_saved']:,.0f} of {sv['fixed_minutes']:,.0f} minutes); "
                f"{sv['due_not_cleaned']:,.0f} due rooms not cleaned",
            )
        if self.quality.get("rooms_inspected"):
            q = self.quality
            t.add_row(
                "INSTA 800 inspections",
                f"{q['inspections']} inspections, {q['inspections_approved']} approved; "
                f"{q['rooms_approved']} of {q['rooms_inspected']} rooms at their agreed level "
                f"(mean {q['mean_deviation']:+.2f} levels)",
            )
        if self.stickers:
            st = self.stickers
            planted, caught = st["planted"], st["caught"]
            t.add_row(
                "NFC stickers",
                f"{st['stickers']:,} stickers in rooms without a station; "
                f"{st['rooms_without_check_in']} rooms still unverifiable; taps "
                + ", ".join(f"{k} {v:,}" for k, v in sorted(st["taps"].items()))
                + f"; planted {planted.get('forged', 0)} forged URLs "
                f"({caught.get('forged', 0)} caught) and {planted.get('replay', 0)} replayed "
                f"({caught.get('replay', 0)} caught)",
            )
        t.add_row(
            "alerts",
            ", ".join(f"{k} {v}" for k, v in sorted(self.alerts.items())) or "none",
        )
        for k, v in self.faults.items():
            t.add_row(f"planted: {k}", v)
        t.add_row(
            "dashboards' data",
            f"InfluxDB database {self.database} in {self.folder}/servers/influxdb; serve it "
            f"again with `pletfri services run --run-dir {self.folder}/servers`",
        )
        t.add_row("report", f"{self.folder}/report.html (and summary.json)")
        if self.contract_report:
            t.add_row("monthly contract report", " and ".join(self.contract_report))
        console.print(t)


def count(influx: Influx, measurement: str, field_name: str, where: str = "") -> int:
    rows = influx.query(f'SELECT count("{field_name}") FROM "{measurement}" {where}')
    return int(rows[0]["count"]) if rows else 0


def alerts_by_kind(influx: Influx) -> dict[str, int]:
    rows = influx.query('SELECT count("text") FROM "alert" GROUP BY "kind"')
    return {r["kind"]: int(r["count"]) for r in rows}


def collect(run: DemoRun, stats: dict[str, Any], pool: Pool) -> Summary:
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
