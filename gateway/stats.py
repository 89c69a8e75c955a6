"""The gateway's own counters: read by the demo, logged, and stored as `gateway` points.

Each counter is written by one thread only (the committer or the writer), so plain
integers suffice; a snapshot is a copy taken under the GIL.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stats:
    received: int = 0  # messages from the broker or the serial bridge
    accepted: int = 0  # valid, new, from a known device: their points are in the spool
    duplicates: int = 0
    unsure: int = 0  # older than the de-duplication memory; accepted
    points: int = 0  # lines put in the spool
    stored: int = 0  # lines InfluxDB accepted
    acks: int = 0  # `ack` replies to taps
    acks_skipped: int = 0  # taps older than gateway.ack_max_age_s: stored, not answered
    unknown_cards: int = 0
    timeouts: int = 0  # sensors marked offline for a missed window
    write_batches: int = 0
    write_errors: int = 0
    write_ms_last: float = 0.0
    write_ms_max: float = 0.0
    quarantined: int = 0  # lines InfluxDB refused as bad data, kept in the spool's quarantine
    spool_lines: int = 0
    spool_bytes: int = 0
    spool_fill_pct: float = 0.0
    spool_alarm: int = 0  # 1 while the spool is fuller than gateway.spool_alarm_pct
    # Longest time in the gateway of a tap since the last stats point: read from the
    # socket to its `ack` handed to the MQTT client (ms).
    tap_ms_max: float = 0.0
    rejected: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k != "rejected"}
        out["rejected"] = dict(self.rejected)
        out["rejected_total"] = sum(self.rejected.values())
        return out

    def fields(self) -> dict[str, int | float]:
        """Flat fields for the `gateway` measurement (one field per rejection reason)."""
        snap = self.snapshot()
        rejected = snap.pop("rejected")
        return {**snap, **{f"rejected_{r}": n for r, n in sorted(rejected.items())}}

    def summary(self) -> str:
        s = self.snapshot()
        return (
            f"received {s['received']}, accepted {s['accepted']}, duplicates {s['duplicates']}, "
            f"rejected {s['rejected_total']} {s['rejected'] or ''}, points {s['points']}, "
            f"stored {s['stored']}, spool {s['spool_lines']} lines "
            f"({s['spool_fill_pct']:.1f}% full), last write {s['write_ms_last']:.0f} ms"
        )
