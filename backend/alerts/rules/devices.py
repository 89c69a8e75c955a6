"""Rules about the devices: offline, battery, offline queue, clock, a sensor that counts nothing."""

from __future__ import annotations

from backend.alerts.hours import last_use_window
from backend.alerts.model import Alert, Finding
from backend.alerts.rules.base import Context, Rule
from pletfri.settings import (
    BatteryRule,
    ClockRule,
    DeviceOfflineRule,
    GatewaySettings,
    QueueRule,
    SilentSensorRule,
)
from pletfri_fw import contract

SILENT = ("not heard from since", "intet hørt siden")
SAID_OFFLINE = ("it said offline", "den meldte offline")


def kind_of(device: str) -> str:
    return "station" if device.startswith(contract.KIND_STATION + "-") else "sensor"


class DeviceOffline(Rule):
    """A device whose last status is `offline`, or that has not been heard from for
    `gateway.last_seen_timeout_s` (sleeping sensors have no Last Will that fires in time).

    A device never heard from within the lookback is not judged; an open alert resolves
    only when the device is heard from again.
    """

    name = "device_offline"

    def __init__(self, cfg: DeviceOfflineRule, gateway: GatewaySettings) -> None:
        self.cfg = cfg
        self.after_ms = cfg.after_min * 60_000
        self.silence_ms = gateway.last_seen_timeout_s * 1000

    def evaluate(self, ctx: Context) -> list[Finding]:
        status = ctx.readings.last_status(ctx.since_ms, ctx.now_ms)
        findings = []
        for device in sorted(set(ctx.last_seen) | set(status)):
            seen, s = ctx.last_seen.get(device, 0), status.get(device)
            if s is not None and s.get("online") == 0 and seen <= s["time"]:
                if s.get("reason") == "timeout":
                    # The gateway marks a silent sensor at the end of its window.
                    since, reason = s["time"] - self.silence_ms, SILENT
                elif ctx.now_ms - s["time"] >= self.after_ms:
                    since, reason = s["time"], SAID_OFFLINE
                else:
                    continue
            elif seen and ctx.now_ms - seen >= self.silence_ms:
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
        return ctx.last_seen.get(alert.subject, 0) > alert.params["since_ms"]


class Battery(Rule):
    """Battery below `low_mv` and still falling over the window."""

    name = "battery"

    def __init__(self, cfg: BatteryRule) -> None:
        self.cfg = cfg

    def evaluate(self, ctx: Context) -> list[Finding]:
        since = ctx.now_ms - self.cfg.window_h * 3_600_000
        findings = []
        for r in ctx.readings.battery(since, ctx.now_ms):
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

    def __init__(self, cfg: QueueRule) -> None:
        self.cfg = cfg

    def evaluate(self, ctx: Context) -> list[Finding]:
        since = ctx.now_ms - self.cfg.window_min * 60_000
        findings = []
        for r in ctx.readings.queue(since, ctx.now_ms):
            first, last, highest = r.get("first"), r.get("last"), r.get("highest")
            if (r.get("n") or 0) < 2 or first is None or last is None:
                continue
            if last == highest and last > first and last >= self.cfg.min_queue:
                findings.append(
                    Finding(
                        self.name,
                        r["device"],
                        r.get("building", ""),
                        self.cfg.severity,
                        {"device": r["device"], "queue": int(last), "first": int(first)},
                        room=ctx.room_of(r["device"]),
                    )
                )
        return findings


class Clock(Rule):
    """A device whose events arrive undated (clock_ok=false), the newest one too."""

    name = "clock"

    def __init__(self, cfg: ClockRule) -> None:
        self.cfg = cfg

    def evaluate(self, ctx: Context) -> list[Finding]:
        findings = []
        for device, r in sorted(ctx.readings.undated(ctx.since_ms, ctx.now_ms).items()):
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
    """A live sensor that counted no use during the latest `window_h` of timetabled use."""

    name = "silent_sensor"

    def __init__(self, cfg: SilentSensorRule) -> None:
        self.cfg = cfg

    def evaluate(self, ctx: Context) -> list[Finding]:
        window = last_use_window(
            ctx.now_ms, self.cfg.in_use, self.cfg.weekdays, self.cfg.window_h * 3600, ctx.tz
        )
        if window is None:
            return []
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
        return findings
