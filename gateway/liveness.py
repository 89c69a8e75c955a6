"""Last-seen tracking for sleeping sensors, which cannot say `offline` when they die.

A sensor wakes, sends, and sleeps; its Last Will fires on every sleep or never, so
silence is the only sign of a dead one. A sensor not heard from for longer than `timeout_ms` is
marked offline once; when it is heard again it is marked back online. Time is always
passed in (`now_ms`), so simulated time works as well as the wall clock.

Several gateways on a shared subscription each get only some of a sensor's messages, so
each would see gaps that are not there. They tell each other whom they heard (`fresh`,
published by the gateway) and take in what the others heard (`heard_elsewhere`): then
every gateway has the same last-seen time for a sensor, and a sensor that really went
silent gets the same `timeout` point (same series, same time) from each of them, which
InfluxDB stores once.
"""

from __future__ import annotations


class Liveness:
    def __init__(self, timeout_ms: int, shared: bool = False) -> None:
        self.timeout_ms = timeout_ms
        self.shared = shared
        self._last: dict[str, int] = {}
        self._timed_out: set[str] = set()
        # Heard here since the last `take_fresh`: device -> last-seen ms.
        self._fresh: dict[str, int] = {}

    def seen(self, device: str, now_ms: int) -> bool:
        """Note that the device spoke; True if it had been marked offline by a timeout."""
        last = self._last[device] = max(now_ms, self._last.get(device, now_ms))
        if self.shared:
            self._fresh[device] = last
        if device in self._timed_out:
            self._timed_out.discard(device)
            return True
        return False

    def expired(self, now_ms: int) -> list[tuple[str, int]]:
        """Devices whose window passed since the last call, with the time it passed."""
        out = [
            (d, last + self.timeout_ms)
            for d, last in self._last.items()
            if d not in self._timed_out and now_ms - last > self.timeout_ms
        ]
        self._timed_out.update(d for d, _ in out)
        return out

    def heard_elsewhere(self, device: str, ms: int) -> None:
        """Another gateway heard the device at `ms`; that one reports it back online."""
        last = self._last.get(device)
        if last is None or ms > last:
            self._last[device] = ms
            self._timed_out.discard(device)

    def last_seen(self, device: str) -> int | None:
        return self._last.get(device)

    def take_fresh(self) -> dict[str, int]:
        fresh, self._fresh = self._fresh, {}
        return fresh

    def forget(self, device: str) -> None:
        self._last.pop(device, None)
        self._timed_out.discard(device)
