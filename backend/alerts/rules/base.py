"""What every rule shares: the evaluation context and the base class (see rules/__init__)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from backend.alerts.model import Alert, Finding
from backend.alerts.newest import Newest
from backend.alerts.readings import Readings, Tap, Visit
from backend.alerts.sources import Device, Room, Sources
from pletfri.settings import Settings


@dataclass
class Context:
    """One evaluation's view: `now`, settings, sources and readings, with shared reads cached."""

    # The reads several rules share, made once per evaluation (before the rules run).
    SHARED: ClassVar[tuple[str, ...]] = (
        "rooms",
        "devices",
        "taps",
        "visits",
        "status",
        "sensor_seen",
    )

    now_ms: int
    settings: Settings
    sources: Sources
    readings: Readings
    tz: ZoneInfo
    # The engine's long-lived liveness reads (newest.py); None reads them in full.
    newest_status: Newest[dict[str, Any]] | None = None
    newest_seen: Newest[int] | None = None

    @property
    def since_ms(self) -> int:
        return self.now_ms - self.settings.alerts.lookback_h * 3_600_000

    def day(self, ms: int) -> date:
        return datetime.fromtimestamp(ms / 1000, self.tz).date()

    @cached_property
    def rooms(self) -> dict[str, Room]:
        return self.sources.rooms()

    @cached_property
    def devices(self) -> dict[str, Device]:
        return self.sources.devices()

    @cached_property
    def taps(self) -> list[Tap]:
        return self.readings.taps(self.since_ms, self.now_ms)

    @cached_property
    def visits(self) -> list[Visit]:
        return self.readings.visits(self.since_ms, self.now_ms)

    @cached_property
    def status(self) -> dict[str, dict[str, Any]]:
        if self.newest_status is not None:
            return self.newest_status.at(self.now_ms)
        return self.readings.status(self.since_ms, self.now_ms)

    @cached_property
    def sensor_seen(self) -> dict[str, int]:
        if self.newest_seen is not None:
            return self.newest_seen.at(self.now_ms)
        return self.readings.sensor_seen(self.since_ms, self.now_ms)

    def room_of(self, device: str) -> str:
        d = self.devices.get(device)
        return d.room if d else ""


class Rule:
    name: str = ""
    event: bool = False

    def evaluate(self, ctx: Context) -> list[Finding]:
        raise NotImplementedError

    def cleared(self, alert: Alert, ctx: Context) -> bool:
        """Called for an open alert whose subject the rule no longer finds."""
        return not self.event
