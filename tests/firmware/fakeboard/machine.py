"""MicroPython's `machine` for a board run under CPython (see README.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PWRON_RESET, HARD_RESET, WDT_RESET, DEEPSLEEP_RESET, SOFT_RESET = 1, 2, 3, 4, 5
PIN_WAKE, EXT0_WAKE, EXT1_WAKE, TIMER_WAKE = 2, 2, 3, 4
_WAKES = {"ext0": EXT0_WAKE, "ext1": EXT1_WAKE, "timer": TIMER_WAKE}


def reset_cause() -> int:
    return DEEPSLEEP_RESET if os.environ.get("FAKE_WAKE") else PWRON_RESET


def wake_reason() -> int:
    return _WAKES.get(os.environ.get("FAKE_WAKE", ""), 0)


def deepsleep(ms: int = 0) -> None:
    Path("slept").write_text(str(ms))
    raise SystemExit(0)


def disable_irq() -> int:
    return 0


def enable_irq(state: int) -> None:
    pass


class Pin:
    IN, OUT, PULL_UP, IRQ_RISING = 1, 2, 3, 4

    def __init__(self, n: int, mode: int = 0, pull: int = 0) -> None:
        self.n = n
        self._v = 0

    def value(self, v: int | None = None) -> int:
        if v is not None:
            self._v = v
        return self._v

    def irq(self, trigger: int = 0, handler: Any = None) -> None:
        pass


class PWM:
    def __init__(self, pin: Pin, freq: int = 0, duty_u16: int = 0) -> None:
        self.pin = pin
        self.duty = duty_u16

    def duty_u16(self, v: int) -> None:
        self.duty = v
        with open("pwm.log", "a") as f:
            f.write(f"{self.pin.n} {v}\n")


class WDT:
    def __init__(self, timeout: int = 5000) -> None:
        pass

    def feed(self) -> None:
        pass


class RTC:
    def memory(self, data: bytes | None = None) -> bytes:
        path = Path("rtc.bin")
        if data is not None:
            path.write_bytes(bytes(data))
            return b""
        return path.read_bytes() if path.exists() else b""


class ADC:
    ATTN_11DB = 3

    def __init__(self, pin: Pin, atten: int = 0) -> None:
        pass

    def read_uv(self) -> int:
        return 1_480_000  # 2,960 mV behind the 1:2 divider


def _frame(data: bytes) -> bytes:
    n = len(data) + 1
    dcs = (-(0xD5 + sum(data))) & 0xFF
    return bytes([0, 0, 0xFF, n, (-n) & 0xFF, 0xD5]) + data + bytes([dcs, 0])


class I2C:
    """A PN532 on the bus; a card is on the reader while `cards` has lines."""

    def __init__(self, bus: int, sda: Any = None, scl: Any = None, freq: int = 0) -> None:
        self.pending: list[bytes] = []

    def writeto(self, addr: int, data: bytes) -> None:
        cmd = data[6]
        if cmd == 0x02:
            reply = b"\x03\x32\x01\x06\x07"
        elif cmd == 0x4A:
            reply = b"\x4b\x00"
            cards = Path("cards")
            lines = cards.read_text().split() if cards.exists() else []
            if lines:
                uid = bytes.fromhex(lines[0])
                cards.write_text("\n".join(lines[1:]))
                reply = b"\x4b\x01\x01\x00\x04\x08" + bytes([len(uid)]) + uid
        else:
            reply = bytes([cmd + 1])
        self.pending = [b"\x00\x00\xff\x00\xff\x00", _frame(reply)]

    def readfrom(self, addr: int, n: int) -> bytes:
        if n == 1:
            return b"\x01" if self.pending else b"\x00"
        return (b"\x01" + self.pending.pop(0) + bytes(n))[:n]


class SPI:
    def __init__(self, *a: Any, **k: Any) -> None:
        pass


class UART:
    def __init__(self, *a: Any, **k: Any) -> None:
        pass

    def read(self) -> bytes | None:
        return None
