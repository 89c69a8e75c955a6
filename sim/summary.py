"""The demo's closing summary: what the platform did, each figure from where it is kept.

Message counts come from the gateway's own counters, stored points from InfluxQL counts,
visits, savings and alerts from what the backend wrote; tests/sim checks each against
InfluxQL on the stored data, so the demo's claims are true. sim/demo.py gathers the figures
(it imports this module and sim/report.py; neither imports it back).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from pletfri.influx import Influx

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
                "planned rooms have no station to tap",
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
        t.add_row(
            "alerts",
            ", ".join(f"{k} {v}" for k, v in sorted(self.alerts.items())) or "none",
        )
        for k, v in self.faults.items():
            t.add_row(f"planted: {k}", v)
        t.add_row(
            "dashboards' data",
            f"InfluxDB database {self.database}; its folder and the command that serves it "
            "again are below",
        )
        console.print(t)
        # Below the table, one per line and never cut: a table cell crops a long path to the
        # terminal's width (or to 80 columns when the output is not a terminal).
        for what, path in self.files():
            console.print(f"{what}: {path}", soft_wrap=True, markup=False, highlight=False)

    def files(self) -> list[tuple[str, str]]:
        """What the run left to open or run, each with its whole path."""
        return [
            ("report", f"{self.folder}/report.html"),
            ("figures (JSON)", f"{self.folder}/summary.json"),
            *(("monthly contract report", p) for p in self.contract_report),
            ("InfluxDB data", f"{self.folder}/servers/influxdb"),
            ("serve it again", f"pletfri services run --run-dir {self.folder}/servers"),
        ]


def count(influx: Influx, measurement: str, field_name: str, where: str = "") -> int:
    rows = influx.query(f'SELECT count("{field_name}") FROM "{measurement}" {where}')
    return int(rows[0]["count"]) if rows else 0


def alerts_by_kind(influx: Influx) -> dict[str, int]:
    rows = influx.query('SELECT count("text") FROM "alert" GROUP BY "kind"')
    return {r["kind"]: int(r["count"]) for r in rows}
