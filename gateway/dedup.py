"""Which (device, boot, seq) triples have been stored, in bounded memory.

Per device and boot the state is the highest seq seen and a bit mask of the `window`
seqs below it (bit i: seq high-i was seen); only the `boots` most recent boots of a
device are kept. So memory is O(devices x boots x window bits) however long the
gateway runs, and gaps (lost QoS 0 heartbeats) cost nothing.

A message older than what is remembered (a seq more than `window` behind, or a boot
older than the kept ones) is let through and counted as `unsure`: losing it would be
worse than a rare double, and a dated point that arrives twice overwrites itself in
InfluxDB (same series, same time).

Changes are made inside a transaction (`begin`/`commit`/`rollback`) that the caller
ties to the spool's database transaction, so the state on disk always matches what
the spool holds.
"""

from __future__ import annotations

from enum import Enum

# boot -> [high, mask]
DeviceState = dict[int, list[int]]


class Verdict(Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    UNSURE = "unsure"


class Dedup:
    def __init__(self, window: int = 1024, boots: int = 4) -> None:
        self.window = window
        self.boots = boots
        self._full = (1 << window) - 1
        self._state: dict[str, DeviceState] = {}
        # Device -> its state before this transaction (None: it had none).
        self._undo: dict[str, DeviceState | None] = {}

    def __len__(self) -> int:
        return len(self._state)

    def begin(self) -> None:
        self._undo = {}

    def check(self, device: str, boot: int, seq: int) -> Verdict:
        """Record the triple; say whether it is new, already seen, or too old to tell."""
        state = self._state.get(device)
        if device not in self._undo:
            self._undo[device] = None if state is None else {b: list(hm) for b, hm in state.items()}
        if state is None:
            self._state[device] = {boot: [seq, 1]}
            return Verdict.NEW
        hm = state.get(boot)
        if hm is None:
            if len(state) >= self.boots and boot < min(state):
                return Verdict.UNSURE
            state[boot] = [seq, 1]
            if len(state) > self.boots:
                del state[min(state)]
            return Verdict.NEW
        high, mask = hm
        if seq > high:
            hm[0] = seq
            hm[1] = ((mask << (seq - high)) | 1) & self._full
            return Verdict.NEW
        back = high - seq
        if back >= self.window:
            return Verdict.UNSURE
        if mask >> back & 1:
            return Verdict.DUPLICATE
        hm[1] = mask | (1 << back)
        return Verdict.NEW

    def changed(self) -> list[tuple[str, str]]:
        """(device, serialised state) for every device touched in this transaction."""
        return [(d, self.dump(d)) for d in self._undo]

    def commit(self) -> None:
        self._undo = {}

    def rollback(self) -> None:
        for device, before in self._undo.items():
            if before is None:
                self._state.pop(device, None)
            else:
                self._state[device] = before
        self._undo = {}

    def dump(self, device: str) -> str:
        # "boot:high:mask-in-hex" per boot, ";"-separated: cheap to write on every commit.
        return ";".join(f"{b}:{h}:{m:x}" for b, (h, m) in self._state[device].items())

    def load(self, rows: list[tuple[str, str]]) -> None:
        for device, text in rows:
            state: DeviceState = {}
            for part in text.split(";"):
                b, h, m = part.split(":")
                state[int(b)] = [int(h), int(m, 16) & self._full]
            self._state[device] = state
