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
    received: int
    accepted: int
    duplicates: int
    rejected: dict[str, int]
    points_stored: int
    points: dict[str, int]
    visits: dict[str, Any] = field(default_factory=dict)
    savings: dict[str, Any] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    faults: dict[str, str] = field(default_factory=dict)
    influx_url: str = ""
    database: str = ""
    report: str = ""
    folder: str = ""

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
            f"{self.sent:,} sent by devices, {self.received:,} handled by the gateway, "
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
            + ", ".join(f"{k} {v:,}" for k, v in self.points.items() if v),
        )
        for k, v in {**self.visits, **self.savings}.items():
            t.add_row(k.replace("_", " "), f"{v:,}" if isinstance(v, int | float) else str(v))
        t.add_row(
            "alerts",
            ", ".join(f"{k} {v}" for k, v in sorted(self.alerts.items())) or "none",
        )
        for k, v in self.faults.items():
            t.add_row(f"planted: {k}", v)
        t.add_row("dashboards' data", f"InfluxDB {self.influx_url} database {self.database}")
        if self.report:
            t.add_row("report", self.report)
        t.add_row("run folder", self.folder)
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
    summary = Summary(
        buildings=len(run.municipality.buildings),
        rooms=len(run.municipality.rooms()),
        first_day=f"{run.calendar.days[0].day:%a %d %b}",
        last_day=f"{run.calendar.days[-1].day:%a %d %b %Y}",
        wall_s=run.wall_s,
        interrupted=run.interrupted,
        sent=pool.published,
        received=stats["received"],
        accepted=stats["accepted"],
        duplicates=stats["duplicates"],
        rejected=stats["rejected"],
        points_stored=stats["stored"],
        points=points,
        alerts=alerts,
        faults=faults,
        influx_url=run.settings.influx.url,
        database=run.settings.influx.database,
        folder=str(run.folder),
    )
    (run.folder / "summary.json").write_text(summary.to_json())
    return summary
