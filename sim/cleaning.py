"""Cleaners working through the day's plan, with the mistakes people make.

Each building's plan is split into rounds of at most a shift's minutes, one cleaner per
round. Most visits are complete (a tap on arrival, a tap on leaving); some are forgotten,
some too short for the room, some miss the leaving tap, and now and then a card is tapped
twice. On a training track a trainee works with a buddy and both tap.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sim.world import Building, Cleaner, Room


@dataclass(frozen=True, slots=True)
class PlannedRoom:
    room: Room
    minutes: float


@dataclass(frozen=True, slots=True)
class BehaviourConfig:
    forget_p: float = 0.03  # a planned room not visited at all
    short_p: float = 0.04  # a visit far shorter than the room needs
    no_leave_tap_p: float = 0.02  # the leaving tap forgotten
    double_tap_p: float = 0.03  # the arrival tap repeated
    # One cleaner's round at most; a longer plan is shared by the building's teams.
    round_minutes: float = 240.0
    walk_minutes: tuple[float, float] = (1.0, 3.0)


@dataclass(frozen=True, slots=True)
class Tap:
    ms: int
    # The station's device id, or the sticker's (tag-...) for a tap with a phone.
    station: str
    uid: bytes
    cleaner: str


@dataclass(frozen=True, slots=True)
class VisitTruth:
    """What really happened, for the tests and the summary's plausibility checks."""

    room: str
    cleaner: str
    start_ms: int
    end_ms: int
    outcome: str  # done, short, forgotten, no_leave_tap
    double_tap: bool = False
    buddy: str | None = None


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _rounds(plan: list[PlannedRoom], shift_minutes: float) -> list[list[PlannedRoom]]:
    rounds: list[list[PlannedRoom]] = [[]]
    used = 0.0
    for p in plan:
        if rounds[-1] and used + p.minutes > shift_minutes:
            rounds.append([])
            used = 0.0
        rounds[-1].append(p)
        used += p.minutes
    return [r for r in rounds if r]


def _teams(building: Building) -> list[tuple[Cleaner, Cleaner | None]]:
    """Who works the rounds: a buddy with one trainee, everyone else on their own."""
    by_id = {c.id: c for c in building.cleaners}
    teams: list[tuple[Cleaner, Cleaner | None]] = []
    busy: set[str] = set()
    for c in building.cleaners:
        if c.role == "trainee" and c.buddy in by_id and c.buddy not in busy:
            teams.append((c, by_id[c.buddy]))
            busy |= {c.id, c.buddy}
    teams += [(c, None) for c in building.cleaners if c.id not in busy]
    return teams


def work_shift(
    building: Building,
    plan: list[PlannedRoom],
    start: datetime,
    seed: int,
    config: BehaviourConfig = BehaviourConfig(),
) -> tuple[list[Tap], list[VisitTruth]]:
    """The taps of one building's shift from `start` (aware), in time order, and the truth."""
    rng = random.Random(f"{seed}:cleaning:{building.id}:{start.isoformat()}")
    teams = _teams(building)
    if not teams or not plan:
        return [], []
    taps: list[Tap] = []
    truths: list[VisitTruth] = []
    # Each team starts a little after the shift begins and works its rounds back to back.
    clocks = [start + timedelta(minutes=rng.uniform(0, 10)) for _ in teams]
    for i, rnd in enumerate(_rounds(plan, config.round_minutes)):
        k = i % len(teams)
        lead, buddy = teams[k]
        t = clocks[k] + (timedelta(minutes=15) if i >= len(teams) else timedelta(0))
        cards = [lead] + ([buddy] if buddy else [])
        for p in rnd:
            point = p.room.check_in
            if point is None:
                continue
            t += timedelta(minutes=rng.uniform(*config.walk_minutes))
            u = rng.random()
            if u < config.forget_p:
                truths.append(VisitTruth(p.room.id, lead.id, _ms(t), _ms(t), "forgotten"))
                continue
            short = u < config.forget_p + config.short_p
            minutes = p.minutes * (rng.uniform(0.1, 0.25) if short else rng.uniform(0.85, 1.2))
            end = t + timedelta(minutes=minutes)
            no_leave = rng.random() < config.no_leave_tap_p
            double = rng.random() < config.double_tap_p
            for j, c in enumerate(cards):
                arrive = t + timedelta(seconds=4 * j)
                taps.append(Tap(_ms(arrive), point, c.uid, c.id))
                if double:
                    # Half within the station's debounce, half a nervous repeat later on.
                    gap = rng.choice((1.5, rng.uniform(10, 40)))
                    taps.append(Tap(_ms(arrive + timedelta(seconds=gap)), point, c.uid, c.id))
                if not no_leave:
                    taps.append(Tap(_ms(end + timedelta(seconds=4 * j)), point, c.uid, c.id))
            outcome = "no_leave_tap" if no_leave else "short" if short else "done"
            truths.append(
                VisitTruth(
                    p.room.id,
                    lead.id,
                    _ms(t),
                    _ms(end),
                    outcome,
                    double,
                    buddy.id if buddy else None,
                )
            )
            t = end
        clocks[k] = t
    taps.sort(key=lambda x: x.ms)
    return taps, truths
