"""Provisioning over USB serial (pyserial, raw REPL) against a pseudo-terminal that plays
the device: MicroPython's raw REPL protocol, with the device's files in memory."""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import serial
from typer.testing import CliRunner

from backend.broker import passwords
from backend.registry import Building, Device, Registry, RegistryData, Room
from pletfri.cli import app as cli
from pletfri_host import provision as prov

KEY = "00112233445566778899aabbccddeeff"
CFG = {
    "device": "nfc-a4cf12f0b3c1",
    "wifi_ssid": "school-iot",
    "wifi_password": "secret pass",
    "broker": "mqtt://10.0.0.5:1883",
    "ntp_host": "pool.ntp.org",
    "site_key": KEY,
}


class FakeDevice(threading.Thread):
    """MicroPython's side of the raw REPL on the master end of a pty."""

    def __init__(self, fd: int) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.files: dict[str, str] = {}
        self.raw = False
        self.code = b""
        self.stop = False

    def _open(self, name: str, mode: str = "r") -> Any:
        files = self.files
        if "r" in mode:
            if name not in files:
                raise OSError(2, "ENOENT")
            return io.StringIO(files[name])

        class W(io.StringIO):
            def close(self) -> None:
                files[name] = (files.get(name, "") if "a" in mode else "") + self.getvalue()
                super().close()

        return W()

    def _run(self, code: str) -> tuple[str, str]:
        out = io.StringIO()
        files = self.files

        class Os:
            @staticmethod
            def rename(a: str, b: str) -> None:
                files[b] = files.pop(a)

        def imp(name: str, *a: Any, **k: Any) -> Any:
            if name == "os":
                return Os
            raise ImportError(name)

        ns = {
            "__builtins__": {
                "open": self._open,
                "print": lambda *a: out.write(" ".join(map(str, a)) + "\n"),
                "__import__": imp,
            }
        }
        try:
            exec(code, ns)
        except Exception as e:
            return (
                out.getvalue(),
                f"Traceback (most recent call last):\r\n{type(e).__name__}: {e}\r\n",
            )
        return out.getvalue(), ""

    def run(self) -> None:
        while not self.stop:
            try:
                data = os.read(self.fd, 1024)
            except OSError:
                return
            for b in data:
                c = bytes([b])
                if not self.raw:
                    if c == b"\x01":
                        self.raw = True
                        self.code = b""
                        os.write(self.fd, b"raw REPL; CTRL-B to exit\r\n>")
                    elif c == b"\x03":
                        os.write(self.fd, b"\r\n>>> ")
                elif c == b"\x02":
                    self.raw = False
                    os.write(self.fd, b"\r\nMicroPython v1.27.0\r\n>>> ")
                elif c == b"\x04":
                    os.write(self.fd, b"OK")
                    out, err = self._run(self.code.decode())
                    os.write(self.fd, out.encode() + b"\x04" + err.encode() + b"\x04>")
                    self.code = b""
                elif c != b"\x03":
                    self.code += c


@pytest.fixture
def device() -> Iterator[tuple[FakeDevice, str]]:
    master, slave = os.openpty()
    dev = FakeDevice(master)
    dev.start()
    # Raw mode on the pty: no echo, no newline translation, as a USB serial line.
    tty.setraw(slave)
    try:
        yield dev, os.ttyname(slave)
    finally:
        dev.stop = True
        os.close(slave)
        with contextlib.suppress(OSError):
            os.close(master)


def test_provision_writes_and_verifies_config(device: tuple[FakeDevice, str]) -> None:
    dev, port = device
    assert prov.provision(port, CFG) == CFG
    assert json.loads(dev.files["config.json"]) == CFG
    assert "config.json.tmp" not in dev.files
    deadline = time.monotonic() + 10  # a deadline, not a timing: the machine may be busy
    while dev.raw:  # it leaves the raw REPL
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_provision_rejects_a_bad_config_before_touching_the_device(
    device: tuple[FakeDevice, str],
) -> None:
    dev, port = device
    bad = {**CFG, "site_key": "abc"}
    with pytest.raises(prov.ProvisionError, match="site_key: at least 32 hex"):
        prov.provision(port, bad)
    with pytest.raises(prov.ProvisionError, match="broker must look like mqtt://"):
        prov.provision(port, {**CFG, "broker": "10.0.0.5"})
    assert dev.files == {}


def test_device_error_is_reported(device: tuple[FakeDevice, str]) -> None:
    _, port = device
    with serial.Serial(port, 115200, timeout=0.5) as ser:
        repl = prov.RawRepl(ser)
        repl.enter()
        with pytest.raises(prov.ProvisionError, match="ENOENT"):
            prov.read_config(repl)


def test_silent_port_times_out_with_advice() -> None:
    master, slave = os.openpty()
    try:
        with (
            serial.Serial(os.ttyname(slave), 115200, timeout=0.1) as ser,
            pytest.raises(prov.ProvisionError, match="is it a MicroPython board"),
        ):
            prov.RawRepl(ser, timeout_s=0.5).enter()
    finally:
        os.close(master)
        os.close(slave)


def _registry(tmp_path: Path) -> dict[str, str]:
    """A registry holding the device; the environment pointing `pletfri` at it."""
    db = tmp_path / "registry.sqlite"
    with Registry(db) as reg:
        reg.replace(
            RegistryData(
                buildings=[Building(id="b001", name="School", kind="school")],
                rooms=[Room(id="b001-r001", building="b001", type="classroom", area_m2=50)],
                devices=[Device(id=CFG["device"], kind="station", room="b001-r001")],
            )
        )
    return {
        "PLETFRI_BACKEND__DATABASE_FILE": str(db),
        "PLETFRI_BROKER__PASSWORD_FILE": str(tmp_path / "passwd"),
    }


def test_cli_provision_and_show(device: tuple[FakeDevice, str], tmp_path: Path) -> None:
    dev, port = device
    env = _registry(tmp_path)
    args = ["device", "provision", "--port", port, "--device", CFG["device"]]
    args += ["--wifi-ssid", "school-iot", "--wifi-password", "secret pass"]
    args += ["--broker", CFG["broker"], "--site-key", KEY]
    r = CliRunner().invoke(cli, args, env=env)
    assert r.exit_code == 0, r.output
    assert "verified" in r.output and f"MQTT login {CFG['device']}" in r.output
    # The device has its own login; the broker's file only the password's hash.
    written = json.loads(dev.files["config.json"])
    assert written["mqtt_user"] == CFG["device"]
    stored = passwords.read(tmp_path / "passwd")
    assert passwords.check_password(written["mqtt_password"], stored[CFG["device"]])
    assert written["mqtt_password"] not in (tmp_path / "passwd").read_text()
    assert written["mqtt_password"] not in r.output
    r = CliRunner().invoke(cli, ["device", "show", "--port", port])
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    assert shown["site_key"] == shown["mqtt_password"] == "***"
    assert shown["device"] == CFG["device"]
    r = CliRunner().invoke(
        cli, ["device", "provision", "--port", "/dev/nonexistent-tty", *args[4:]], env=env
    )
    assert r.exit_code == 2 and "cannot use serial port" in r.output
    # The failed write left the login the device has working.
    assert passwords.read(tmp_path / "passwd") == stored


def test_cli_provision_refuses_an_unregistered_device(
    device: tuple[FakeDevice, str], tmp_path: Path
) -> None:
    dev, port = device
    env = _registry(tmp_path)
    args = ["device", "provision", "--port", port, "--device", "nfc-a4cf12f0b3ff"]
    args += ["--wifi-ssid", "s", "--wifi-password", "p", "--broker", CFG["broker"]]
    r = CliRunner().invoke(cli, [*args, "--site-key", KEY], env=env)
    assert r.exit_code == 2 and "not in the registry" in r.output
    assert dev.files == {} and not (tmp_path / "passwd").exists()
    # Without a login of its own (a broker without logins), on request.
    r = CliRunner().invoke(cli, [*args, "--site-key", KEY, "--no-login"], env=env)
    assert r.exit_code == 0, r.output
    assert "mqtt_password" not in json.loads(dev.files["config.json"])
