"""Every sensor and station of the municipality: the real firmware logic in simulated time.

Each device is the firmware's own Station or Sensor (pletfri_fw, built by
pletfri_host.sim with flash and RTC memory in memory), carried over the shared, paced
link (sim/link.py); the simulator only decides what happens to it and when: PIR triggers
from the usage model, cards from the cleaners, wakes when the firmware asks for them,
and faults. Every message is the one the firmware built, with simulated timestamps.

One step is 15 minutes. A sensor that woke in a step goes back to sleep at the start of
the next one, once the broker has acknowledged what it sent (as a real sensor waits for
its PUBACKs before it sleeps).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pletfri_fw import contract
from pletfri_fw.sensor import Sensor
from pletfri_fw.sensor_state import HOLDOFF_MS
from pletfri_fw.station import Station
from pletfri_host.sim import SharedLink, make_sensor, make_station, pir_wakes
from sim.calendar import Calendar
from sim.cleaning import Tap
from sim.faults import HEALTHY_MV, Faults
from sim.link import Pool
from sim.usage import RoomUsage, UsageConfig
from sim.world import Municipality

# Sim-time a sensor stays awake after it sent (its radio waits for the PUBACKs).
AWAKE_MS = 2000
POLL_ALL_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class FleetConfig:
    step_s: int = 900
    # Sent to the devices as their settings (the firmware's `config`), see docs/demo.md.
    sensor_send_s: int = 3600
    station_heartbeat_s: int = 3 * 3600


def _spread(device: str, span_ms: int) -> int:
    """A stable per-device offset in [0, span_ms): devices booted at different times."""
    return zlib.crc32(device.encode()) % max(1, span_ms)


@dataclass(slots=True)
class SimSensor:
    sensor: Sensor
    link: SharedLink
    usage: RoomUsage
    next_wake: int
    awake_since: int | None = None


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
        self.links: dict[str, SharedLink] = {}
        self.sensors: list[SimSensor] = []
        self.stations: dict[str, Station] = {}
        kinds = {b.id: b.kind for b in m.buildings}
        for room in m.rooms():
            if room.sensor:
                dev = room.sensor
                link = self.links[dev] = SharedLink(dev, pool)
                mv = HEALTHY_MV[0] + _spread(dev, HEALTHY_MV[1] - HEALTHY_MV[0])
                sensor = make_sensor(
                    dev,
                    link,
                    settings={"send_s": config.sensor_send_s},
                    health=self._health(dev, mv),
                )
                u = RoomUsage(room, kinds[room.building], seed, usage or UsageConfig())
                self.sensors.append(SimSensor(sensor, link, u, 0))
            if room.station:
                dev = room.station
                link = self.links[dev] = SharedLink(dev, pool)
                self.stations[dev] = make_station(
                    dev, site_key, link, settings={"heartbeat_s": config.station_heartbeat_s}
                )
        self.taps: list[Tap] = []
        self._touched: set[str] = set()
        self._offline_station: str | None = None
        pool.on_message = self._downlink

    def _health(self, device: str, healthy_mv: int) -> Any:
        return lambda now_ms: {"batt_mv": self.faults.battery_mv(device, now_ms, healthy_mv)}

    def _downlink(self, device: str, channel: str, payload: bytes) -> None:
        link = self.links.get(device)
        if link is not None:
            link.deliver(channel, payload)
            if device in self.stations:
                self._touched.add(device)

    def add_taps(self, taps: Iterable[Tap], offline_station: str | None = None) -> None:
        self.taps = sorted([*self.taps, *taps], key=lambda t: t.ms)
        if offline_station:
            self._offline_station = offline_station

    def start(self, now_ms: int) -> None:
        """Boot every device at some time in the cycle before `now_ms`, as in a running fleet."""
        send_ms = self.config.sensor_send_s * 1000
        for s in self.sensors:
            boot = now_ms - send_ms + _spread(s.sensor.uplink.device, send_ms)
            s.sensor.resume(boot)
            self._wake(s, boot)
        hb_ms = self.config.station_heartbeat_s * 1000
        for dev, st in self.stations.items():
            boot = now_ms - hb_ms + _spread(dev, hb_ms)
            st.start(boot)
            st.poll(boot)

    def _wake(self, s: SimSensor, now_ms: int) -> None:
        s.sensor.resume(now_ms)
        if s.sensor.wake(now_ms):
            s.sensor.poll(now_ms)
        s.awake_since = now_ms

    def _sleep_all(self) -> None:
        """Sensors that woke in the last step go back to sleep, their messages acknowledged."""
        self.pool.flush()
        for s in self.sensors:
            if s.awake_since is None:
                continue
            now = s.awake_since + AWAKE_MS
            s.sensor.poll(now)
            s.next_wake = now + s.sensor.sleep(now)
            s.awake_since = None

    def _set_station_link(self, device: str, online: bool, now_ms: int) -> None:
        link = self.links[device]
        link.online = online  # off the air, the link's connection is gone too
        if not online:
            # The broker would publish the station's Last Will; the simulator's connections
            # carry none (they outlive the radio), so the simulator does it for the device.
            self.pool.publish(device, contract.STATUS, contract.STATUS_OFFLINE, retain=True)
        self.stations[device].poll(now_ms)

    def step(self, t0: int, t1: int) -> None:
        """Simulate [t0, t1)."""
        self._sleep_all()
        f, offline = self.faults, self._offline_station
        events: list[tuple[int, int, Tap | None]] = [(t.ms, 1, t) for t in self.taps if t.ms < t1]
        self.taps = [t for t in self.taps if t.ms >= t1]
        if offline is not None:
            for edge in (f.offline_from_ms, f.offline_to_ms):
                if t0 <= edge < t1:
                    events.append((edge, 0, None))
        for ms, _, tap in sorted(events, key=lambda e: (e[0], e[1])):
            if tap is None and offline is not None:
                self._set_station_link(offline, ms != f.offline_from_ms, ms)
            elif tap is not None and tap.station in self.stations:
                st = self.stations[tap.station]
                st.card_read(tap.uid, tap.ms)
                st.poll(tap.ms)
                self._touched.add(tap.station)
        self._sensors(t0, t1)
        self._poll_stations(t1)
        self.pool.pump()

    def _poll_stations(self, t1: int) -> None:
        """Stations that saw something in the step; all of them once an hour (heartbeats).

        On the device the main loop polls all the time; between taps a poll only sends a
        heartbeat when one is due, so an hourly poll shifts a heartbeat by under an hour.
        """
        touched = self._touched | self._offline_station_set()
        every = t1 % POLL_ALL_MS == 0
        for dev, st in self.stations.items():
            if every or dev in touched:
                st.poll(t1)
        self._touched = set()

    def _offline_station_set(self) -> set[str]:
        return {self._offline_station} if self._offline_station else set()

    def _sensors(self, t0: int, t1: int) -> None:
        day = self.cal.day_of(t0)
        mid = t0 + (t1 - t0) // 2
        start = self.cal.local(t0)
        step_s = (t1 - t0) // 1000
        for s in self.sensors:
            if not self.faults.sensor_alive(s.sensor.uplink.device, t1):
                continue
            wake = s.next_wake if s.next_wake < t1 else None
            if wake is not None and wake < mid:
                self._wake(s, wake)
            n = s.usage.motion(start, step_s, day) if day else 0
            if n:
                # The PIR's hold-off: a battery sensor counts busy minutes, not triggers.
                busy = min(n, step_s * 1000 // HOLDOFF_MS)
                if s.awake_since is None:
                    pir_wakes(s.sensor, mid, busy)
                else:
                    s.sensor.pir(mid, busy)
            if wake is not None and wake >= mid:
                self._wake(s, wake)

    def finish(self, now_ms: int) -> None:
        """Let the last sensors sleep, so nothing they sent is sent again."""
        self._sleep_all()
