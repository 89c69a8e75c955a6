"""Rules about cards: unknown ones, and one card in two buildings too close in time."""

from __future__ import annotations

import itertools
from collections import defaultdict

from backend.alerts.model import Alert, Finding
from backend.alerts.readings import Tap
from backend.alerts.rules.base import Context, Rule
from pletfri.settings import Settings


class UnknownCard(Rule):
    """Taps of a card the registry does not know; one alert per card, building and day."""

    name = "unknown_card"
    event = True

    def __init__(self, settings: Settings) -> None:
        self.cfg = settings.alerts.unknown_card

    def evaluate(self, ctx: Context) -> list[Finding]:
        known: dict[str, bool] = {}
        groups: dict[tuple[str, str, str], list[Tap]] = defaultdict(list)
        for t in ctx.taps:
            if t.card not in known:
                known[t.card] = ctx.sources.known_card(t.card)
            if not known[t.card]:
                groups[(t.building, t.card, str(ctx.day(t.time)))].append(t)
        findings = []
        for (building, card, day), taps in sorted(groups.items()):
            first = min(taps, key=lambda t: t.time)
            findings.append(
                Finding(
                    self.name,
                    f"{card}@{building}@{day}",
                    building,
                    self.cfg.severity,
                    {"card": card, "count": len(taps), "first_ms": first.time},
                    room=first.room,
                )
            )
        return findings

    def cleared(self, alert: Alert, ctx: Context) -> bool:
        # Registered since: it was a new colleague's card, nothing to follow up.
        return ctx.sources.known_card(alert.params["card"])


class CardTravel(Rule):
    """One card tapped in two buildings closer in time than anyone can travel.

    Undated taps (clock_ok=false, stamped on arrival) are left out: a replayed queue
    would otherwise look like travel. Both buildings get an alert.
    """

    name = "card_travel"
    event = True

    def __init__(self, settings: Settings) -> None:
        self.cfg = settings.alerts.card_travel
        self.min_ms = self.cfg.min_travel_min * 60_000

    def evaluate(self, ctx: Context) -> list[Finding]:
        by_card: dict[str, list[Tap]] = defaultdict(list)
        for t in ctx.taps:
            if t.clock_ok and t.building:
                by_card[t.card].append(t)
        found: dict[str, Finding] = {}
        for card, taps in by_card.items():
            taps.sort(key=lambda t: t.time)
            for a, b in itertools.pairwise(taps):
                if a.building == b.building or b.time - a.time >= self.min_ms:
                    continue
                minutes = round((b.time - a.time) / 60_000, 1)
                for here, there in ((a, b), (b, a)):
                    subject = f"{card}@{here.building}@{ctx.day(a.time)}"
                    found.setdefault(
                        subject,
                        Finding(
                            self.name,
                            subject,
                            here.building,
                            self.cfg.severity,
                            {
                                "card": card,
                                "other": there.building,
                                "here_ms": here.time,
                                "there_ms": there.time,
                                "minutes": minutes,
                            },
                            room=here.room,
                        ),
                    )
        return list(found.values())
