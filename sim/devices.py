"""The firmware logic of one device, driven by simulated time over a shared link.

PROVISIONAL: until pletfri_host's simulator helpers land (issue 3), this wraps the
contract's payload builders and a simple in-memory queue. It is replaced by the real
firmware logic as soon as that exists; the fleet only uses the methods below.
"""

from __future__ import annotations

import json
from collections import deque

from pletfri_fw import contract
from pletfri_fw.pseudonym import Pseudonymiser
from sim.link import Pool


class SimSensor:
    def __init__(self, device: str, pool: Pool, period_s: int, boot: int = 1) -> None:
        self.device = device
        self.pool = pool
        self.period_s = period_s
        self.boot = boot
        self.seq = 0
        self.periods: list[dict[str, int]] = []
        self.motion = 0

    def count(self, motion: int) -> None:
        self.motion += motion

    def end_period(self, now_ms: int) -> None:
        self.periods.append(contract.period_record(self.period_s, motion=self.motion, ts=now_ms))
        self.motion = 0

    def wake(self, now_ms: int, batt_mv: int | None) -> None:
        if self.periods:
            self.seq += 1
            msg = contract.occupancy_payload(self.boot, self.seq, self.periods, now_ms)
            self.pool.publish(self.device, contract.OCCUPANCY, json.dumps(msg))
            self.periods = []
        if batt_mv is not None:
            self.seq += 1
            hb = contract.heartbeat_payload(self.boot, self.seq, {"batt_mv": batt_mv}, now_ms)
            self.pool.publish(self.device, contract.HEARTBEAT, json.dumps(hb))


class SimStation:
    def __init__(self, device: str, pool: Pool, site_key: bytes, boot: int = 1) -> None:
        self.device = device
        self.pool = pool
        self.pseudo = Pseudonymiser(site_key)
        self.boot = boot
        self.seq = 0
        self.online = True
        self.queue: deque[tuple[str, str]] = deque()
        self.last_card: tuple[bytes, int] | None = None
        self.acks: list[dict[str, object]] = []

    def tap(self, uid: bytes, now_ms: int) -> None:
        if self.last_card and self.last_card[0] == uid and now_ms - self.last_card[1] < 3000:
            return
        self.last_card = (uid, now_ms)
        self.seq += 1
        msg = contract.tap_payload(self.boot, self.seq, self.pseudo.card(uid), now_ms)
        self._send(contract.TAP, json.dumps(msg))

    def heartbeat(self, now_ms: int) -> None:
        self.seq += 1
        hb = contract.heartbeat_payload(self.boot, self.seq, {"queue": len(self.queue)}, now_ms)
        self._send(contract.HEARTBEAT, json.dumps(hb))

    def _send(self, channel: str, payload: str) -> None:
        if self.online:
            self.pool.publish(self.device, channel, payload)
        else:
            self.queue.append((channel, payload))

    def set_online(self, online: bool, now_ms: int) -> None:
        self.online = online
        status = contract.STATUS_ONLINE if online else contract.STATUS_OFFLINE
        self.pool.publish(self.device, contract.STATUS, status, retain=True)
        while online and self.queue:
            self.pool.publish(self.device, *self.queue.popleft())

    def downlink(self, channel: str, payload: bytes) -> None:
        if channel == contract.ACK:
            self.acks.append(json.loads(payload))
