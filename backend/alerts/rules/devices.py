"""Rules about the devices: offline, battery, offline queue, clock, a sensor that counts nothing."""

from __future__ import annotations

import itertools

from backend.alerts.hours import last_use_window
from backend.alerts.model import Alert, Finding
from backend.alerts.rules.base import Context, Rule
from pletfri.settings import Settings
from pletfri_fw import contract

SILENT = ("not heard from since", "intet hørt siden")
SAID_OFFLINE = ("it said offline", "den meldte offline")


def kind_of(device: str) -> str:
    return "station" if device.startswith(contract.KIND_STATION + "-") else "sensor"


class DeviceOffline(Rule):
    """A device whose newest status is `offline` (a station's Last Will, or the gateway's
    timeout mark for a silent sensor), or a sensor not heard from for
    `gateway.last_seen_timeout_s` (in case the gateway was not running to mark it).

    Stations are judged by their status alone: the broker sends their Last Will when they
    vanish. A sensor silent for longer than `alerts.lookback_h` without a mark is not found
    anew, but an open alert resolves only when the device is heard from again.
    """

    name = "device_offline"

    def __init__(self, settings: Settings) -> None:
        self.cfg = settings.alerts.device_offline
        self.after_ms = self.cfg.after_min * 60_000
        self.silence_ms = settings.gateway.last_seen_timeout_s * 1000

    def evaluate(self, ctx: Context) -> list[Finding]:
        findings = []
        for device in sorted(set(ctx.sensor_seen) | set(ctx.status)):
            seen, s = ctx.sensor_seen.get(device, 0), ctx.status.get(device)
            if s is not None and s.get("online") == 0 and seen <= s["time"]:
                if s.get("reason") == "timeout":
                    # The gateway marks a silent sensor at the end of its window.
                    since, reason = s["time"] - self.silence_ms, SILENT
                elif ctx.now_ms - s["time"] >= self.after_ms:
                    since, reason = s["time"], SAID_OFFLINE
                else:
                    continue
            elif kind_of(device) == "sensor" and seen and ctx.now_ms - seen >= self.silence_ms:
                since, reason = seen, SILENT
            else:
                continue
            d = ctx.devices.get(device)
            building = d.building if d else (s or {}).get("building", "")
            findings.append(
                Finding(
                    self.name,
                    device,
                    building,
                    self.cfg.severity,
                    {
                        "device": device,
                        "kind": kind_of(device),
                        "since_ms": since,
                        "reason_en": reason[0],
                        "reason_da": reason[1],
                    },
                    room=d.room if d else "",
                )
            )
        return findings

    def cleared(self, alert: Alert, ctx: Context) -> bool:
        since = alert.params["since_ms"]
        s = ctx.status.get(alert.subject)
        back = s is not None and s.get("online") == 1 and s["time"] > since
        return back or ctx.sensor_seen.get(alert.subject, 0) > since


class Battery(Rule):
    """Battery below `low_mv` (newest readings) and fallen over the window."""

    name = "battery"

    def __init__(self, settings: Settings) -> None:
        self.cfg = settings.alerts.battery
        # A sleeping sensor reports its battery at least once per last-seen window.
        self.recent_ms = settings.gateway.last_seen_timeout_s * 1000

    def evaluate(self, ctx: Context) -> list[Finding]:
        since = ctx.now_ms - self.cfg.window_h * 3_600_000
        rows = ctx.readings.battery_low(
            ctx.now_ms - self.recent_ms, since, ctx.now_ms, self.cfg.low_mv
        )
        findings = []
        for r in rows:
            first, last = r.get("first"), r.get("last")
            if first is None or last is None:
                continue
            if last < self.cfg.low_mv and first - last >= self.cfg.min_drop_mv:
                findings.append(
                    Finding(
                        self.name,
                        r["device"],
                        r.get("building", ""),
                        self.cfg.severity,
                        {
                            "device": r["device"],
                            "mv": int(last),
                            "drop_mv": int(first - last),
                            "hours": self.cfg.window_h,
                        },
                        room=ctx.room_of(r["device"]),
                    )
                )
        return findings


class Queue(Rule):
    """An offline queue that grew at every report of the window to at least `min_queue`."""

    name = "queue"

    def __init__(self, settings: Settings) -> None:
        self.cfg = settings.alerts.queue

    def evaluate(self, ctx: Context) -> list[Finding]:
        since = ctx.now_ms - self.cfg.window_min * 60_000
        findings = []
        for device, r in sorted(ctx.readings.queue_lengths(since, ctx.now_ms).items()):
            values = r["values"]
            growing = all(b > a for a, b in itertools.pairwise(values))
            if len(values) >= 2 and growing and values[-1] >= self.cfg.min_queue:
                findings.append(
                    Finding(
                        self.name,
                        device,
                        r["building"],
                        self.cfg.severity,
                        {"device": device, "queue": int(values[-1]), "first": int(values[0])},
                        room=ctx.room_of(device),
                    )
                )
        return findings


class Clock(Rule):
    """A device whose events arrive undated (clock_ok=false), the newest one too."""

    name = "clock"

    def __init__(self, settings: Settings) -> None:
        self.cfg = settings.alerts.clock
        self.recent_ms = settings.gateway.last_seen_timeout_s * 1000

    def evaluate(self, ctx: Context) -> list[Finding]:
        undated = ctx.readings.undated(ctx.now_ms - self.recent_ms, ctx.since_ms, ctx.now_ms)
        findings = []
        for device, r in sorted(undated.items()):
            if r["n"] >= self.cfg.min_points and r.get("last_ok") is False:
                findings.append(
                    Finding(
                        self.name,
                        device,
                        r["building"],
                        self.cfg.severity,
                        {"device": device, "count": r["n"]},
                        room=r.get("room") or ctx.room_of(device),
                    )
                )
        return findings


class SilentSensor(Rule):
    """A live sensor that counted no use during the latest `window_h` of timetabled use.

    The window is the same from its end until the next school day's use, so once all
    its periods have arrived (one last-seen window after it ends) the findings are kept
    instead of summed again at every evaluation.
    """

    name = "silent_sensor"

    def __init__(self, settings: Settings) -> None:
        self.cfg = settings.alerts.silent_sensor
        self.settle_ms = settings.gateway.last_seen_timeout_s * 1000
        self._settled: tuple[tuple[int, int], list[Finding]] | None = None

    def evaluate(self, ctx: Context) -> list[Finding]:
        window = last_use_window(
            ctx.now_ms, self.cfg.in_use, self.cfg.weekdays, self.cfg.window_h * 3600, ctx.tz
        )
        if window is None:
            return []
        if self._settled is not None and self._settled[0] == window:
            return self._settled[1]
        findings = []
        for r in ctx.readings.occupancy_sums(*window):
            room = ctx.rooms.get(r.get("room", ""))
            room_type = r.get("room_type") or (room.type if room else "")
            if room_type not in self.cfg.room_types or not r.get("n"):
                continue
            used = sum(r.get(k) or 0 for k in ("motion", "presence_s", "entries"))
            if used == 0:
                findings.append(
                    Finding(
                        self.name,
                        r["device"],
                        r.get("building", ""),
                        self.cfg.severity,
                        {"device": r["device"], "hours": self.cfg.window_h, "until_ms": window[1]},
                        room=r.get("room", ""),
                    )
                )
        if ctx.now_ms - window[1] >= self.settle_ms:
            self._settled = (window, findings)
        return findings
