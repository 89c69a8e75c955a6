"""A link double for logic tests: records what the logic sent, acknowledges on request,
goes down and refuses connections when told to."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


class FakeLink:
    def __init__(self) -> None:
        self.reachable = True
        self.connected = False
        self.opens: list[int] = []  # now_ms of every connection attempt
        self.will: tuple[str, bytes] | None = None
        self.sent: list[tuple[int, str, bytes, bool]] = []  # pid, topic, payload, retain
        self.unacked: list[int] = []
        self.subscribed: list[str] = []
        self.closed_clean = 0
        self.on_message: Callable[[str, bytes], None] | None = None
        self.on_puback: Callable[[int], None] | None = None
        self.inbox: list[tuple[str, bytes]] = []
        self._pid = 0

    def up(self) -> bool:
        return self.connected

    def open(self, will_topic: str, will_payload: bytes, now_ms: int) -> None:
        self.opens.append(now_ms)
        if not self.reachable:
            raise OSError("broker unreachable")
        self.will = (will_topic, will_payload)
        self.connected = True

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        if not self.connected:
            raise OSError("not connected")
        self._pid += 1
        self.sent.append((self._pid, topic, payload, retain))
        if qos:
            self.unacked.append(self._pid)
        return self._pid

    def subscribe(self, topics: list[str], qos: int = 1) -> None:
        self.subscribed.append(list(topics))

    def poll(self, now_ms: int) -> None:
        if not self.connected:
            raise OSError("connection lost")
        while self.inbox:
            topic, payload = self.inbox.pop(0)
            assert self.on_message
            self.on_message(topic, payload)

    def close(self, clean: bool = True) -> None:
        self.connected = False
        self.closed_clean += clean
        self.unacked = []

    # test controls

    def ack(self, n: int | None = None) -> None:
        acks, self.unacked = self.unacked[:n], self.unacked[len(self.unacked[:n]) :]
        for pid in acks:
            assert self.on_puback
            self.on_puback(pid)

    def drop(self) -> None:
        """The connection breaks without a word (broker restart, Wi-Fi gone)."""
        self.connected = False
        self.unacked = []

    def deliver(self, topic: str, msg: Any) -> None:
        """A message from the broker, handed to the logic at its next poll."""
        self.inbox.append((topic, msg if isinstance(msg, bytes) else json.dumps(msg).encode()))

    def payloads(self, channel: str) -> list[dict[str, Any]]:
        return [json.loads(p) for _, t, p, _ in self.sent if t.endswith("/" + channel)]
