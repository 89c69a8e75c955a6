"""Every sensor and station of the municipality, stepped through simulated time.

One step is one sensor period (15 minutes by default). In a step the stations see the taps
that fall in it, in time order; at its end each live sensor counts the period's PIR
triggers, and the sensors whose hourly wake falls there send their periods (wakes are
spread over the hour by device, as real sensors drift apart). Devices send through the
shared, paced link (sim/link.py); timestamps are simulated time.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from sim.calendar import Calendar
from sim.cleaning import Tap
from sim.devices import SimSensor, SimStation
from sim.faults import HEALTHY_MV, Faults
from sim.link import Pool
from sim.usage import RoomUsage, UsageConfig
from sim.world import Municipality


@dataclass(frozen=True, slots=True)
class FleetConfig:
    period_s: int = 900
    wake_s: int = 3600
    sensor_heartbeat_s: int = 6 * 3600
    # Within the gateway's last-seen window (2 h), or a silent station counts as offline.
    station_heartbeat_s: int = 3600


def _offset(device: str, every_s: int, period_s: int) -> int:
    """Where in its cycle a device wakes, whole periods, stable per device."""
    return (zlib.crc32(device.encode()) % max(1, every_s // period_s)) * period_s


class Fleet:
    def __init__(
        self,
        m: Municipality,
        cal: Calendar,
        faults: Faults,
        pool: Pool,
        seed: int,
        site_key: bytes,
        config: FleetConfig = FleetConfig(),
        usage: UsageConfig | None = None,
    ) -> None:
        self.cal = cal
        self.faults = faults
        self.pool = pool
        self.config = config
        kinds = {b.id: b.kind for b in m.buildings}
        self.sensors: list[tuple[SimSensor, RoomUsage, int]] = []
        self.stations: dict[str, SimStation] = {}
        for room in m.rooms():
            if room.sensor:
                self.sensors.append(
                    (
                        SimSensor(room.sensor, pool, config.period_s),
                        RoomUsage(room, kinds[room.building], seed, usage or UsageConfig()),
                        _offset(room.sensor, config.wake_s, config.period_s),
                    )
                )
            if room.station:
                self.stations[room.station] = SimStation(room.station, pool, site_key)
        self.healthy_mv = {
            s.device: HEALTHY_MV[0]
            + zlib.crc32(s.device.encode()) % (HEALTHY_MV[1] - HEALTHY_MV[0])
            for s, _, _ in self.sensors
        }
        self.taps: list[Tap] = []
        self.taps_sent = 0
        self._offline_station: str | None = None
        pool.on_message = self._downlink

    def _downlink(self, device: str, channel: str, payload: bytes) -> None:
        station = self.stations.get(device)
        if station is not None:
            station.downlink(channel, payload)

    def add_taps(self, taps: Iterable[Tap], offline_station: str | None = None) -> None:
        self.taps = sorted([*self.taps, *taps], key=lambda t: t.ms)
        if offline_station:
            self._offline_station = offline_station

    def start(self, now_ms: int) -> None:
        """Every station says it is online, as after its first connect."""
        for st in self.stations.values():
            st.set_online(True, now_ms)

    def _station_link(self, t0: int, t1: int) -> None:
        f, dev = self.faults, self._offline_station
        if dev is None:
            return
        if t0 <= f.offline_from_ms < t1:
            self.stations[dev].set_online(False, f.offline_from_ms)
        if t0 <= f.offline_to_ms < t1:
            self.stations[dev].set_online(True, f.offline_to_ms)

    def step(self, t0: int, t1: int) -> None:
        """Simulate [t0, t1): one period. `t1 - t0` must equal the period."""
        events: list[tuple[int, int, Tap | None]] = [
            (tap.ms, 1, tap) for tap in self.taps if t0 <= tap.ms < t1
        ]
        for edge in (self.faults.offline_from_ms, self.faults.offline_to_ms):
            if t0 <= edge < t1:
                events.append((edge, 0, None))
        for ms, _, tap in sorted(events, key=lambda e: (e[0], e[1])):
            if tap is None:
                self._station_link(ms, ms + 1)
            elif tap.station in self.stations:
                self.stations[tap.station].tap(tap.uid, tap.ms)
                self.taps_sent += 1
        self.taps = [t for t in self.taps if t.ms >= t1]
        self._sensors(t0, t1)
        self._station_heartbeats(t1)
        self.pool.pump()

    def _sensors(self, t0: int, t1: int) -> None:
        day = self.cal.day_of(t0)
        if day is None:
            return
        start = self.cal.local(t0)
        cfg = self.config
        for sensor, usage, offset in self.sensors:
            if not self.faults.sensor_alive(sensor.device, t1):
                continue
            sensor.count(usage.motion(start, cfg.period_s, day))
            sensor.end_period(t1)
            phase = (t1 // 1000 - offset) % cfg.wake_s
            if phase == 0:
                hb = (t1 // 1000 - offset) % cfg.sensor_heartbeat_s == 0
                mv = self.faults.battery_mv(sensor.device, t1, self.healthy_mv[sensor.device])
                sensor.wake(t1, mv if hb else None)

    def _station_heartbeats(self, t1: int) -> None:
        cfg = self.config
        for st in self.stations.values():
            offset = _offset(st.device, cfg.station_heartbeat_s, cfg.period_s)
            if (t1 // 1000 - offset) % cfg.station_heartbeat_s == 0:
                st.heartbeat(t1)

    def finish(self, now_ms: int) -> None:
        """Sensors send what they hold, as at their next wake."""
        for sensor, _, _ in self.sensors:
            if self.faults.sensor_alive(sensor.device, now_ms):
                sensor.wake(now_ms, None)
