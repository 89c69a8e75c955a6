# Capped exponential backoff with jitter, for Wi-Fi and MQTT reconnects.
# Random numbers come from a small xorshift seeded per device (its MAC), because
# MicroPython's `random` is not everywhere (the wasm test interpreter lacks it)
# and a fleet must not retry in lockstep after a broker restart.


class Backoff:
    def __init__(self, base_ms=1000, cap_ms=300000, seed=1):
        self.base_ms = base_ms
        self.cap_ms = cap_ms
        self.attempt = 0
        self._x = (seed & 0xFFFFFFFF) or 0x9E3779B9

    def _rand(self, n):
        x = self._x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self._x = x
        return x % n

    def next_ms(self):
        # "Equal jitter": at least half the ceiling, so a retry never comes at once,
        # plus a random half, so devices spread out.
        ceiling = self.base_ms << self.attempt
        if ceiling >= self.cap_ms:
            ceiling = self.cap_ms
        else:
            self.attempt += 1
        half = ceiling // 2
        return half + self._rand(half + 1)

    def reset(self):
        self.attempt = 0
