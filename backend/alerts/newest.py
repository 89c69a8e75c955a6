"""Each device's newest point, kept between evaluations and read on incrementally.

Liveness needs, per device, the newest status point and the newest occupancy period
within the lookback (26 h): read in full, that is a scan of every device point of the
day at every evaluation. Kept here, an evaluation reads only since the previous one, less
a margin for points that arrive late (a sensor sends its periods at its next wake; the
gateway's spool writes after an InfluxDB outage), and the result is the same map.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Newest(Generic[T]):
    """`read(since_ms, until_ms)` gives the newest item per device in that span."""

    def __init__(
        self,
        read: Callable[[int, int], dict[str, T]],
        time_of: Callable[[T], int],
        lookback_ms: int,
        late_ms: int,
    ) -> None:
        self.read = read
        self.time_of = time_of
        self.lookback_ms = lookback_ms
        self.late_ms = late_ms
        self._items: dict[str, T] = {}
        self._until: int | None = None

    def at(self, now_ms: int) -> dict[str, T]:
        since = now_ms - self.lookback_ms
        previous = self._until
        if previous is None or now_ms < previous or previous - self.late_ms <= since:
            # First call, time went back (a new simulation), or too long since: read it all.
            self._items = self.read(since, now_ms)
        else:
            for device, item in self.read(previous - self.late_ms, now_ms).items():
                old = self._items.get(device)
                if old is None or self.time_of(item) >= self.time_of(old):
                    self._items[device] = item
            self._items = {d: i for d, i in self._items.items() if self.time_of(i) >= since}
        self._until = now_ms
        return dict(self._items)
