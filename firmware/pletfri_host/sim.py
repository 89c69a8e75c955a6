"""The firmware logic ready to drive from the fleet simulator: stations and sensors with
in-memory flash and RTC memory, over a link the simulator provides.

`SharedLink` carries one device over a connection shared by many: anything with
`publish(device, channel, payload, qos, retain, on_acked)` (sim.link.Pool has exactly
that). The bytes it sends are the ones the firmware logic built.

Devices made here do not time out PUBACKs (`puback_ms=0`): on simulated time a broker's
answer that takes real milliseconds can look minutes late, and a shared connection is
never half dead.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any, Protocol

from pletfri_fw import contract
from pletfri_fw import sensor_state as ss
from pletfri_fw.backoff import Backoff
from pletfri_fw.clock import Clock
from pletfri_fw.feedback import Feedback
from pletfri_fw.pseudonym import Pseudonymiser
from pletfri_fw.sensor import Sensor
from pletfri_fw.station import Station
from pletfri_fw.store import Store
from pletfri_fw.uplink import Uplink
from pletfri_host.fakes import Buzzer, Led, MemRtc
from pletfri_host.memfs import MemFS


class Carrier(Protocol):
    def publish(
        self,
        device: str,
        channel: str,
        payload: bytes | str,
        qos: int = 1,
        retain: bool = False,
        on_acked: Callable[[], None] | None = None,
    ) -> None: ...


class SharedLink:
    """The link interface for one device over a shared connection. Set `online` False to
    take the device off the air (its Last Will is then the simulator's to publish)."""

    def __init__(self, device: str, carrier: Carrier) -> None:
        self.device = device
        self.carrier = carrier
        self._online = True
        self.on_message: Callable[[str, bytes], None] | None = None
        self.on_puback: Callable[[int], None] | None = None
        self._up = False
        self._pid = 0
        self.inbox: list[tuple[str, bytes]] = []

    @property
    def online(self) -> bool:
        return self._online

    @online.setter
    def online(self, online: bool) -> None:
        # Off the air, the connection is gone with the network: coming back needs a new
        # open(), as a real device reconnects, and what was on its way is lost.
        self._online = online
        if not online:
            self._up = False
            self.inbox.clear()

    def up(self) -> bool:
        return self._up

    def open(self, will_topic: str, will_payload: bytes, now_ms: int) -> None:
        if not self.online:
            raise OSError(f"{self.device} is off the air")
        self._up = True

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        if not self.up():
            raise OSError(f"{self.device} is off the air")
        self._pid = self._pid % 65535 + 1
        pid = self._pid
        parts = contract.parse_topic(topic)
        assert parts is not None and parts[0] == self.device, topic
        self.carrier.publish(self.device, parts[1], payload, qos, retain, self._acked(pid))
        return pid if qos else 0

    def _acked(self, pid: int) -> Callable[[], None]:
        def acked() -> None:
            if self._up and self.on_puback:
                self.on_puback(pid)

        return acked

    def subscribe(self, topics: list[str], qos: int = 1) -> None:
        """The simulator subscribes for all devices at once (sim.link.Pool.subscribe)."""

    def deliver(self, channel: str, payload: bytes) -> None:
        """A downlink message for this device, from the shared connection; the logic gets
        it at its next poll, with that poll's time."""
        if self.up():
            self.inbox.append((contract.topic(self.device, channel), payload))

    def poll(self, now_ms: int) -> None:
        while self.inbox and self.on_message:
            self.on_message(*self.inbox.pop(0))

    def close(self, clean: bool = True) -> None:
        self._up = False


def _seed(device: str) -> int:
    return zlib.crc32(device.encode())


def _clock(unix_offset_ms: int | None) -> Clock:
    clock = Clock()
    if unix_offset_ms is not None:
        clock.sync(0, unix_offset_ms)
    return clock


def make_station(
    device: str,
    site_key: bytes,
    link: Any,
    unix_offset_ms: int | None = 0,
    fs: Any = None,
    settings: dict[str, int] | None = None,
) -> Station:
    """A station over `link`, flash in memory unless `fs` is given. `unix_offset_ms`:
    Unix ms minus the simulator's now_ms (0 when now_ms is Unix ms; None: never synced).
    `station.uplink.store` is its queue, `station.feedback.led` its light."""
    store = Store(fs if fs is not None else MemFS())
    store.begin_boot()
    uplink = Uplink(device, link, store, None, Backoff(1000, 120000, _seed(device)), puback_ms=0)
    return Station(
        uplink,
        _clock(unix_offset_ms),
        Pseudonymiser(site_key),
        Feedback(Led(), Buzzer()),
        settings=settings,
    )


def make_sensor(
    device: str,
    link: Any,
    unix_offset_ms: int | None = 0,
    fs: Any = None,
    rtc: MemRtc | None = None,
    settings: dict[str, int] | None = None,
    health: Callable[[int], dict[str, Any]] | None = None,
) -> Sensor:
    """A sensor over `link`; call `resume(now_ms)` once before counting."""
    store = Store(fs if fs is not None else MemFS())
    uplink = Uplink(device, link, store, None, Backoff(500, 4000, _seed(device)), puback_ms=0)
    return Sensor(uplink, _clock(unix_offset_ms), rtc or MemRtc(), health, settings)


def pir_wakes(sensor: Sensor, now_ms: int, wakes: int) -> None:
    """PIR wakes of a sleeping battery sensor, counted as its boot.py does: into the state
    in RTC memory, which the next radio wake's `resume` reads. (Its `pir` is for an awake
    sensor: a sleeping one's in-memory state is replaced at `resume`.)"""
    st = ss.unpack(sensor.rtc.read())
    if st is None or now_ms >= st.next_send:
        return  # no state yet, or a radio wake is due: main.py runs and counts nothing
    ss.count_wake(st, now_ms, False, wakes)
    sensor.rtc.write(ss.pack(st))
