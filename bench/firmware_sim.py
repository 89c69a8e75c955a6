"""Cost of the real firmware logic per simulated device event under CPython, for the fleet
simulator (issue 7): a sensor's hourly radio wake and a station's tap.

Method: 500 sensors and 500 stations from pletfri_host.sim (flash and RTC memory in
memory) over SharedLinks on a carrier that records and acknowledges at once (no broker:
this measures the logic alone). A sensor wake = resume, 4 PIR counts, wake (one
occupancy message, one heartbeat), poll, PUBACKs, sleep; 10 simulated hours. A station
tap = card_read, poll, PUBACK, poll; 10 rounds. Wall time / events, one run.

    .venv/bin/python bench/firmware_sim.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pletfri_host.sim import SharedLink, make_sensor, make_station

N = 500
NOW = 1_764_300_000_000


class Carrier:
    def __init__(self) -> None:
        self.acks: list[Callable[[], None] | None] = []

    def publish(
        self,
        device: str,
        channel: str,
        payload: bytes | str,
        qos: int = 1,
        retain: bool = False,
        on_acked: Callable[[], None] | None = None,
    ) -> None:
        self.acks.append(on_acked)

    def pump(self) -> None:
        acks, self.acks = self.acks, []
        for cb in acks:
            if cb:
                cb()


def sensors(car: Carrier) -> float:
    fleet = [make_sensor(f"occ-{i:012x}", SharedLink(f"occ-{i:012x}", car)) for i in range(N)]
    for s in fleet:
        s.resume(NOW)
    t = time.perf_counter()
    for h in range(1, 11):
        now = NOW + h * 3_600_000
        for s in fleet:
            s.resume(now)
            for k in range(4):
                s.pir(now - k * 600_000)
            if s.wake(now):
                s.poll(now)
                car.pump()
            s.sleep(now)
    return (time.perf_counter() - t) / (N * 10)


def stations(car: Carrier) -> float:
    fleet = [
        make_station(f"nfc-{i:012x}", b"k" * 16, SharedLink(f"nfc-{i:012x}", car)) for i in range(N)
    ]
    for s in fleet:
        s.start(NOW)
        s.poll(NOW)
    t = time.perf_counter()
    for k in range(10):
        now = NOW + k * 10_000
        for i, s in enumerate(fleet):
            s.card_read(bytes([k, i & 255, i >> 8, 4]), now)
            s.poll(now)
            car.pump()
            s.poll(now + 1)
    return (time.perf_counter() - t) / (N * 10)


def main() -> None:
    car = Carrier()
    print(f"sensor radio wake cycle: {sensors(car) * 1e6:6.1f} µs")
    print(f"station tap with ack:    {stations(car) * 1e6:6.1f} µs")


if __name__ == "__main__":
    main()
