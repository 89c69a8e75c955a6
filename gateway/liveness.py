"""Last-seen tracking for sleeping sensors, which cannot say `offline` when they die.

A sensor wakes, sends, and sleeps; its Last Will fires on every sleep or never, so
silence is the only sign of a dead one. A sensor not heard from for longer than `timeout_ms` is
marked offline once; when it is heard again it is marked back online. Time is always
passed in (`now_ms`), so simulated time works as well as the wall clock.
"""

from __future__ import annotations


class Liveness:
    def __init__(self, timeout_ms: int) -> None:
        self.timeout_ms = timeout_ms
        self._last: dict[str, int] = {}
        self._timed_out: set[str] = set()

    def seen(self, device: str, now_ms: int) -> bool:
        """Note that the device spoke; True if it had been marked offline by a timeout."""
        self._last[device] = max(now_ms, self._last.get(device, now_ms))
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

    def forget(self, device: str) -> None:
        self._last.pop(device, None)
        self._timed_out.discard(device)
