"""Rules about the cleaning itself: missed, overdue, too short."""

from __future__ import annotations

from collections import defaultdict

from backend import roomtypes
from backend.alerts.model import Alert, Finding
from backend.alerts.rules.base import Context, Rule
from pletfri.settings import Settings


class MissedCleaning(Rule):
    """A planned cleaning with no visit in its room by the end of its shift (plus grace)."""

    name = "missed_cleaning"
    event = True

    def __init__(self, settings: Settings) -> None:
        self.cfg = settings.alerts.missed_cleaning
        self.grace_ms = self.cfg.grace_min * 60_000

    def evaluate(self, ctx: Context) -> list[Finding]:
        planned = ctx.sources.planned(ctx.since_ms, ctx.now_ms - self.grace_ms)
        visited: dict[str, list[int]] = defaultdict(list)
        for v in ctx.visits:
            visited[v.room].append(v.time)
        findings = []
        for p in planned:
            if any(p.start_ms <= t <= p.end_ms + self.grace_ms for t in visited[p.room]):
                continue
            findings.append(
                Finding(
                    self.name,
                    f"{p.room}@{p.shift}@{ctx.day(p.start_ms)}",
                    p.building,
                    self.cfg.severity,
                    {"shift": p.shift, "start_ms": p.start_ms, "end_ms": p.end_ms},
                    room=p.room,
                )
            )
        return findings

    def cleared(self, alert: Alert, ctx: Context) -> bool:
        # Within the lookback, a plan no longer found missed has its visit now (a station's
        # replayed queue) or was planned anew without the room. Older ones wait for an ack.
        return alert.params["end_ms"] >= ctx.since_ms


class OverdueRoom(Rule):
    """A room whose need score is far over its threshold, not visited since."""

    name = "overdue_room"

    def __init__(self, settings: Settings) -> None:
        self.cfg = settings.alerts.overdue_room
        self.threshold = settings.backend.need_threshold

    def evaluate(self, ctx: Context) -> list[Finding]:
        limit = self.threshold * self.cfg.factor
        needs = ctx.readings.needs_over(ctx.since_ms, ctx.now_ms, limit)
        last_visit = ctx.readings.latest_visit(ctx.since_ms, ctx.now_ms, {r["room"] for r in needs})
        findings = []
        for r in needs:
            score = r.get("score")
            if score is None or score < limit or last_visit.get(r["room"], 0) >= r["time"]:
                continue
            findings.append(
                Finding(
                    self.name,
                    r["room"],
                    r["building"],
                    self.cfg.severity,
                    {
                        "score": float(score),
                        "threshold": self.threshold,
                        "factor": float(score) / self.threshold,
                    },
                    room=r["room"],
                )
            )
        return findings


class ShortVisit(Rule):
    """Visits the backend judged too short for the room (`short` on the visit point);
    one alert per room and day."""

    name = "short_visit"
    event = True

    def __init__(self, settings: Settings) -> None:
        self.cfg = settings.alerts.short_visit
        self.types = roomtypes.load(settings.backend.room_types_file)

    def evaluate(self, ctx: Context) -> list[Finding]:
        short: dict[tuple[str, str], list[float]] = defaultdict(list)
        for v in ctx.visits:
            if v.short and v.room in ctx.rooms:
                short[(v.room, str(ctx.day(v.time)))].append(v.duration_s)
        findings = []
        for (room_id, day), durations in sorted(short.items()):
            room = ctx.rooms[room_id]
            kind = self.types.get(room.type)
            findings.append(
                Finding(
                    self.name,
                    f"{room_id}@{day}",
                    room.building,
                    self.cfg.severity,
                    {
                        "day": day,
                        "count": len(durations),
                        "shortest_min": round(min(durations) / 60, 1),
                        "expected_min": kind.minutes(room.area_m2) if kind else "?",
                        "area_m2": room.area_m2,
                    },
                    room=room_id,
                )
            )
        return findings
