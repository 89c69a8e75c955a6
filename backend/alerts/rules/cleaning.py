"""Rules about the cleaning itself: missed, overdue, too short."""

from __future__ import annotations

from collections import defaultdict

from backend.alerts.model import Alert, Finding
from backend.alerts.rules.base import Context, Rule
from pletfri.settings import MissedCleaningRule, OverdueRoomRule, ShortVisitRule


class MissedCleaning(Rule):
    """A planned cleaning with no visit in its room by the end of its shift (plus grace)."""

    name = "missed_cleaning"
    event = True

    def __init__(self, cfg: MissedCleaningRule) -> None:
        self.cfg = cfg
        self.grace_ms = cfg.grace_min * 60_000

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
        # A visit that arrived late (a station's replayed queue) shows the cleaning was done.
        start, end = alert.params["start_ms"], alert.params["end_ms"] + self.grace_ms
        return bool(ctx.readings.visits(start, end, room=alert.room))


class OverdueRoom(Rule):
    """A room whose need score is far over its threshold, not visited since."""

    name = "overdue_room"

    def __init__(self, cfg: OverdueRoomRule) -> None:
        self.cfg = cfg

    def evaluate(self, ctx: Context) -> list[Finding]:
        limit = self.cfg.threshold * self.cfg.factor
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
                        "threshold": self.cfg.threshold,
                        "factor": float(score) / self.cfg.threshold,
                    },
                    room=r["room"],
                )
            )
        return findings


class ShortVisit(Rule):
    """Visits shorter than a fraction of what the room's area takes at the expected pace;
    one alert per room and day."""

    name = "short_visit"
    event = True

    def __init__(self, cfg: ShortVisitRule) -> None:
        self.cfg = cfg

    def evaluate(self, ctx: Context) -> list[Finding]:
        short: dict[tuple[str, str], list[float]] = defaultdict(list)
        for v in ctx.visits:
            room = ctx.rooms.get(v.room)
            if room is None or room.area_m2 <= 0:
                continue
            expected_s = room.area_m2 / self.cfg.m2_per_hour * 3600
            if v.duration_s < self.cfg.fraction * expected_s:
                short[(v.room, str(ctx.day(v.time)))].append(v.duration_s)
        findings = []
        for (room_id, day), durations in sorted(short.items()):
            room = ctx.rooms[room_id]
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
                        "expected_min": round(room.area_m2 / self.cfg.m2_per_hour * 60, 1),
                        "area_m2": room.area_m2,
                    },
                    room=room_id,
                )
            )
        return findings
