"""Writing a device's config.json over USB serial through MicroPython's raw REPL.

Raw REPL (as mpremote and pyboard.py use it): Ctrl-C stops the running program, Ctrl-A
enters raw mode (the device answers "raw REPL; CTRL-B to exit" and ">"), code ends with
Ctrl-D, the device answers "OK", the output, Ctrl-D, the error text, Ctrl-D. The file is
written to config.json.tmp in small pieces and renamed, so a cable pulled halfway leaves
the old config intact; then it is read back and compared.
"""

from __future__ import annotations

import json
import time
from typing import Any

import serial

from pletfri_fw import config as fwconfig

CHUNK = 192  # the device's raw REPL buffer takes this without flow control
TMP = fwconfig.PATH + ".tmp"


class ProvisionError(Exception):
    pass


class RawRepl:
    def __init__(self, port: serial.Serial, timeout_s: float = 5.0) -> None:
        self.port = port
        self.timeout_s = timeout_s

    def _read_until(self, marker: bytes) -> bytes:
        data = b""
        deadline = time.monotonic() + self.timeout_s
        while not data.endswith(marker):
            if time.monotonic() > deadline:
                raise ProvisionError(
                    f"device did not answer {marker!r} within {self.timeout_s:.0f} s "
                    f"(got {data[-80:]!r}); is it a MicroPython board on this port?"
                )
            data += self.port.read(1)
        return data

    def enter(self) -> None:
        self.port.write(b"\r\x03\x03")
        time.sleep(0.1)
        self.port.reset_input_buffer()
        self.port.write(b"\r\x01")
        self._read_until(b"raw REPL; CTRL-B to exit\r\n>")

    def exec(self, code: str) -> str:
        self.port.write(code.encode() + b"\x04")
        if self.port.read(2) != b"OK":
            raise ProvisionError("device did not accept the code (no OK from the raw REPL)")
        out = self._read_until(b"\x04")[:-1]
        err = self._read_until(b"\x04")[:-1]
        self._read_until(b">")
        if err:
            raise ProvisionError(f"device raised: {err.decode(errors='replace').strip()}")
        return out.decode(errors="replace")

    def leave(self) -> None:
        self.port.write(b"\x02")


def write_config(repl: RawRepl, cfg: dict[str, Any]) -> None:
    text = json.dumps(cfg, sort_keys=True)
    repl.exec(f"f=open({TMP!r},'w')\nf.close()")
    for i in range(0, len(text), CHUNK):
        repl.exec(f"f=open({TMP!r},'a')\nf.write({text[i : i + CHUNK]!r})\nf.close()")
    repl.exec(f"import os\nos.rename({TMP!r},{fwconfig.PATH!r})")


def read_config(repl: RawRepl) -> dict[str, Any]:
    out = repl.exec(f"f=open({fwconfig.PATH!r})\nprint(f.read())\nf.close()")
    try:
        data = json.loads(out)
    except ValueError as e:
        raise ProvisionError(f"config.json on the device is not JSON: {out[:80]!r}") from e
    if not isinstance(data, dict):
        raise ProvisionError("config.json on the device is not a JSON object")
    return data


def provision(port: str, cfg: dict[str, Any], baudrate: int = 115200) -> dict[str, Any]:
    """Check `cfg` as the device will, write it, read it back; the config read back."""
    try:
        fwconfig.parse(json.dumps(cfg))
    except fwconfig.ConfigError as e:
        raise ProvisionError(str(e)) from e
    try:
        with serial.Serial(port, baudrate, timeout=0.5) as ser:
            repl = RawRepl(ser)
            repl.enter()
            try:
                write_config(repl, cfg)
                back = read_config(repl)
            finally:
                repl.leave()
    except serial.SerialException as e:
        raise ProvisionError(f"cannot use serial port {port}: {e}") from e
    if back != cfg:
        raise ProvisionError("config.json read back differs from what was written; try again")
    return back


def show(port: str, baudrate: int = 115200) -> dict[str, Any]:
    try:
        with serial.Serial(port, baudrate, timeout=0.5) as ser:
            repl = RawRepl(ser)
            repl.enter()
            try:
                return read_config(repl)
            finally:
                repl.leave()
    except serial.SerialException as e:
        raise ProvisionError(f"cannot use serial port {port}: {e}") from e
