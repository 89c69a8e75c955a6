"""MicroPython's `network` for a board run under CPython: Wi-Fi is always there."""

from __future__ import annotations

from typing import Any

STA_IF = 0
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010


class WLAN:
    def __init__(self, interface: int) -> None:
        self.connected = False

    def active(self, on: bool | None = None) -> bool:
        return True

    def connect(self, ssid: str, password: str) -> None:
        self.connected = True

    def disconnect(self) -> None:
        self.connected = False

    def isconnected(self) -> bool:
        return self.connected

    def status(self, what: str | None = None) -> Any:
        if what == "rssi":
            return -61
        return STAT_GOT_IP if self.connected else 0

    def config(self, what: str) -> Any:
        return bytes.fromhex("a4cf12f0b3c1")
