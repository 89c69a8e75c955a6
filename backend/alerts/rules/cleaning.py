"""Rules about the cleaning itself: missed, overdue, too short."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from backend.alerts.model import Alert, Finding
from backend.alerts.rules.base import Context, Rule
from backend.alerts.sources import PlannedCleaning
from backend.cleaning import roomtypes
from backend.cleaning.shifts import day_window
from backend.cleaning.verification import cleanings_done
from pletfri.settings import Settings

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


class MissedCleaning(Rule):
    """A planned cleaning not done (backend.verification.cleanings_done: the room's visits
    that local day, in any shift, against the cleanings due in it that day) by the end of
    its shift plus grace; one alert per room, shift and day."""

    name = "missed_cleaning"
    event = True

    def __init__(self, settings: Settings) -> None:
        self.cfg = settings.alerts.missed_cleaning
        self.grace_ms = self.cfg.grace_min * 60_000

    def evaluate(self, ctx: Context) -> list[Finding]:
        first_ms = self._first_ms(ctx)
        planned = sorted(
            ctx.sources.planned(first_ms, ctx.now_ms - self.grace_ms), key=lambda p: p.start_ms
        )
        if not planned:
            return []
        visits: Counter[tuple[date, str]] = Counter(
            # A visit counts on the day whose (start, end] holds it, as in verification.
            (ctx.day(v.time - 1), v.room)
            for v in ctx.readings.visits(first_ms + 1, ctx.now_ms)
        )
        by_day: dict[date, list[PlannedCleaning]] = defaultdict(list)
        for p in planned:
            by_day[ctx.day(p.start_ms)].append(p)
        findings = []
        for day, cleanings in by_day.items():
            done = cleanings_done(
                [p.room for p in cleanings],
                {room: n for (d, room), n in visits.items() if d == day},
            )
            for p, ok in zip(cleanings, done, strict=True):
                if ok:
                    continue
                findings.append(
                    Finding(
                        self.name,
                        f"{p.room}@{p.shift}@{day}",
                        p.building,
                        self.cfg.severity,
                        {"shift": p.shift, "start_ms": p.start_ms, "end_ms": p.end_ms},
                        room=p.room,
                    )
                )
        return findings

    @staticmethod
    def _first_ms(ctx: Context) -> int:
        # The count is per day, so the rule reads whole days: the day's earlier cleanings and
        # visits count even where older than the lookback (a visit at 15:10 for a shift
        # judged at 22:00 with a six-hour lookback).
        return day_window(ctx.day(ctx.since_ms), ctx.tz)[0]

    def cleared(self, alert: Alert, ctx: Context) -> bool:
        # On a day the rule still reads, a cleaning no longer found missed has its visit now
        # (a station's replayed queue, or a late visit that the day's count gives to this
        # cleaning) or was planned anew without the room. Older ones wait for an ack.
        return alert.params["start_ms"] >= self._first_ms(ctx)


class OverdueRoom(Rule):
    """A room whose need score has been far over its threshold for `hours` without a visit.

    Far over alone is not enough: a busy toilet or day-care room passes twice its threshold
    on an ordinary day, hours before the shift that cleans it. The rule looks back `hours`
    plus a day, so a room with one need point a day (the plan's) is still seen.
    """

    name = "overdue_room"

    def __init__(self, settings: Settings) -> None:
        self.cfg = settings.alerts.overdue_room
        self.threshold = settings.backend.need_threshold

    def evaluate(self, ctx: Context) -> list[Finding]:
        limit = self.threshold * self.cfg.factor
        wait_ms = int(self.cfg.hours * HOUR_MS)
        since = min(ctx.since_ms, ctx.now_ms - wait_ms - DAY_MS)
        needs, over = ctx.readings.needs_over(since, ctx.now_ms, limit)
        last_visit = ctx.readings.latest_visit(since, ctx.now_ms, over)
        findings = []
        for r in needs:
            score = r.get("score")
            visited = last_visit.get(r["room"], 0)
            # Over the limit since the first such point after the room's last visit.
            over_since = min((t for t in over[r["room"]] if t > visited), default=None)
            if (
                score is None
                or score < limit
                or over_since is None
                or ctx.now_ms - over_since < wait_ms
            ):
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
                        "since_ms": over_since,
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
