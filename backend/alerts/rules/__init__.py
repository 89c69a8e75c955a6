"""The alert rules: each turns stored data and the registry into findings.

A rule is a *state* rule (its alert resolves when the condition is no longer found) or
an *event* rule (something happened: its alert stays until acknowledged, or until the
rule's `cleared` says the event turned out fine, e.g. a late visit arrived).
"""

from __future__ import annotations

from backend.alerts.rules.base import Rule
from backend.alerts.rules.cards import CardTravel, UnknownCard
from backend.alerts.rules.cleaning import MissedCleaning, OverdueRoom, ShortVisit
from backend.alerts.rules.devices import Battery, Clock, DeviceOffline, Queue, SilentSensor
from pletfri.settings import Settings

RULES: tuple[type[Rule], ...] = (
    MissedCleaning,
    OverdueRoom,
    ShortVisit,
    DeviceOffline,
    Battery,
    Queue,
    Clock,
    SilentSensor,
    UnknownCard,
    CardTravel,
)
# Alerts of these rules are closed by their acknowledgement.
EVENT_RULES = frozenset(r.name for r in RULES if r.event)


def all_rules(settings: Settings) -> list[Rule]:
    """The enabled rules, in a fixed order, each with its settings."""
    return [cls(settings) for cls in RULES if getattr(settings.alerts, cls.name).enabled]
