"""What an alert is: a rule's finding about one subject, and its life from open to resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SEVERITIES = ("info", "warning", "critical")


def to_ms(now: datetime | int) -> int:
    """Milliseconds since the epoch from an aware datetime or from milliseconds."""
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError(f"{now} has no time zone; pass an aware datetime (e.g. UTC)")
        return int(now.timestamp() * 1000)
    return int(now)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def raised(severity: str) -> str:
    """The next severity up, for an escalation."""
    return SEVERITIES[min(SEVERITIES.index(severity) + 1, len(SEVERITIES) - 1)]


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's observation that something needs a person.

    `subject` names what it is about, unique within the rule: at most one alert per
    rule and subject is open at a time.
    """

    rule: str
    subject: str
    building: str
    severity: str
    params: dict[str, Any] = field(default_factory=dict)
    room: str = ""


@dataclass(slots=True)
class Alert:
    id: int
    rule: str
    subject: str
    building: str
    room: str
    severity: str
    params: dict[str, Any]
    opened_ms: int
    updated_ms: int
    level: int = 0
    notify_ms: int | None = None
    escalated_ms: int | None = None
    acked_ms: int | None = None
    acked_by: str | None = None
    ack_note: str | None = None
    resolved_ms: int | None = None

    @property
    def state(self) -> str:
        if self.resolved_ms is not None:
            return "resolved"
        return "acknowledged" if self.acked_ms is not None else "open"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "subject": self.subject,
            "building": self.building,
            "room": self.room,
            "severity": self.severity,
            "level": self.level,
            "state": self.state,
            "params": self.params,
            "opened": iso(self.opened_ms),
            "escalated": iso(self.escalated_ms) if self.escalated_ms else None,
            "acknowledged": iso(self.acked_ms) if self.acked_ms else None,
            "acknowledged_by": self.acked_by,
            "note": self.ack_note,
            "resolved": iso(self.resolved_ms) if self.resolved_ms else None,
        }


@dataclass(slots=True)
class Evaluation:
    """What one evaluation changed, for the caller (the demo counts these)."""

    now_ms: int
    new: list[Alert] = field(default_factory=list)
    escalated: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    # Rules that could not run, with the reason; their alerts were left as they were.
    errors: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, dict[str, int]]:
        """Per change (new, escalated, resolved): the number of alerts per rule."""
        out: dict[str, dict[str, int]] = {}
        for name in ("new", "escalated", "resolved"):
            by_rule: dict[str, int] = {}
            for a in getattr(self, name):
                by_rule[a.rule] = by_rule.get(a.rule, 0) + 1
            out[name] = by_rule
        return out
