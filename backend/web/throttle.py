"""Token buckets per key (a client address, a login name, a user), kept in memory.

One backend process serves the pages, so memory is where the counts belong; a restart
forgets them, which at worst grants one more minute of attempts. The number of keys is
capped so that a flood of made-up names cannot grow the table without bound.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict


class Throttle:
    """`per_minute` requests a minute per key, in bursts of up to `per_minute`."""

    def __init__(self, per_minute: int, max_keys: int = 10_000) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """0 if the request may go ahead (one token taken), else seconds until it may."""
        t = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.capacity, t))
            tokens = min(self.capacity, tokens + (t - last) * self.rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.rate
            self._buckets[key] = (tokens, t)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return math.ceil(wait) if wait else 0.0
