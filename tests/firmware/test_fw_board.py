"""The unchanged board files and ESP32 hardware layer, run as CPython processes with
stand-ins for machine/network/esp32 (fakeboard/), against a real Mosquitto and a local
SNTP responder: a station publishes debounced taps with NTP time and leaves a Last Will;
a battery sensor's cold start, PIR wakes and radio wake go through boot.py and main.py."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fwbroker import Collector

from pletfri.services import Mosquitto
from pletfri_fw import clock, contract, sensor_state
from pletfri_fw.pseudonym import Pseudonymiser

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
RUN = Path(__file__).resolve().parent / "fakeboard" / "run.py"
KEY = "00112233445566778899aabbccddeeff"


@pytest.fixture
def ntp() -> Iterator[int]:
    """An SNTP server on a free loopback port that tells the real time."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                _, addr = s.recvfrom(48)
            except TimeoutError:
                continue
            t = time.time() + clock.NTP_DELTA_S
            reply = bytearray(48)
            reply[0], reply[1] = 0x24, 2  # version 4, server; stratum 2
            reply[40:48] = struct.pack("!II", int(t), int((t % 1) * 2**32))
            s.sendto(bytes(reply), addr)

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    try:
        yield s.getsockname()[1]
    finally:
        stop.set()
        th.join()
        s.close()


def write_config(folder: Path, device: str, broker: Mosquitto, ntp_port: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cfg = {
        "device": device,
        "wifi_ssid": "school-iot",
        "wifi_password": "x",
        "broker": f"mqtt://127.0.0.1:{broker.port}",
        "site_key": KEY,
        "ntp_host": "127.0.0.1",
        "ntp_port": ntp_port,
        "keepalive_s": 10,
    }
    (folder / "config.json").write_text(json.dumps(cfg))


def start(folder: Path, board: str, wake: str | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "FAKE_WAKE"}
    if wake:
        env["FAKE_WAKE"] = wake
    return subprocess.Popen(
        [sys.executable, str(RUN), str(FIRMWARE), str(FIRMWARE / "boards" / board)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_for(what: str, predicate, proc: subprocess.Popen[bytes] | None, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    """Until `predicate()` is true; fails early if the device process `proc` died."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        dead = proc is not None and proc.poll() is not None
        if dead or time.monotonic() > deadline:
            out = ""
            if proc is not None:
                proc.kill()
                out = proc.communicate()[0].decode(errors="replace")
            raise AssertionError(f"{what} did not happen; device output:\n{out[-2000:]}")
        time.sleep(0.05)
    return result


def test_station_board(tmp_path: Path, broker: Mosquitto, ntp: int) -> None:
    dev = "nfc-a4cf12f0b3c1"
    collector = Collector(broker.port, contract.DEV_ROOT + dev + "/+")
    write_config(tmp_path, dev, broker, ntp)
    a, b = "04a1b2c3", "04a1b2c3d4e5f6"
    proc = start(tmp_path, "station")
    try:
        wait_for("the birth", lambda: collector.payloads("status") == [b"online"], proc)
        time.sleep(0.3)  # NTP follows the connection; a tap before it would have no ts
        (tmp_path / "cards").write_text(f"{a}\n{a}\n{b}\n")  # a card held on for two reads
        taps = wait_for(
            "two taps",
            lambda: len(collector.payloads("tap")) >= 2 and collector.payloads("tap"),
            proc,
        )
        msgs = [json.loads(p) for p in taps]
        pseudo = Pseudonymiser(bytes.fromhex(KEY))
        assert [(m["boot"], m["seq"], m["card"]) for m in msgs] == [
            (1, 1, pseudo.card(bytes.fromhex(a))),
            (1, 2, pseudo.card(bytes.fromhex(b))),
        ]
        assert all(abs(m["ts"] - time.time() * 1000) < 10_000 for m in msgs)  # NTP time
        assert collector.payloads("status") == [b"online"]
        assert "25 " in (tmp_path / "pwm.log").read_text()  # the LED's red channel moved
    finally:
        proc.terminate()  # no DISCONNECT: the broker publishes the Will
        proc.wait()
    wait_for("the Last Will", lambda: collector.payloads("status")[-1:] == [b"offline"], None)
    # After a reset the boot counter from flash goes up; seq starts again.
    (tmp_path / "cards").write_text(f"{a}\n")
    proc = start(tmp_path, "station")
    try:
        wait_for("a tap after the reset", lambda: len(collector.payloads("tap")) >= 3, proc)
        last = json.loads(collector.payloads("tap")[-1])
        assert (last["boot"], last["seq"]) == (2, 1)
    finally:
        proc.terminate()
        proc.wait()
        collector.stop()


def run_to_sleep(folder: Path, wake: str | None) -> int:
    proc = start(folder, "sensor", wake)
    out = proc.communicate(timeout=30)[0].decode(errors="replace")
    assert proc.returncode == 0, out
    return int((folder / "slept").read_text())


def test_battery_sensor_board(tmp_path: Path, broker: Mosquitto, ntp: int) -> None:
    dev = "occ-a4cf12f0b3c2"
    collector = Collector(broker.port, contract.DEV_ROOT + dev + "/+")
    write_config(tmp_path, dev, broker, ntp)
    try:
        # Power on: a heartbeat at once, then sleep until the next hour.
        assert 3_500_000 < run_to_sleep(tmp_path, None) <= 3_600_000
        (hb,) = [json.loads(p) for p in collector.payloads("heartbeat")]
        assert hb["batt_mv"] == 2960 and hb["rssi"] == -61 and hb["reset"] == "power_on"
        # Three PIR wakes: counted by boot.py alone, each followed by the 60 s hold-off.
        for _ in range(3):
            assert run_to_sleep(tmp_path, "ext0") == 60_000
        # The hold-off's timer wake re-arms the PIR and sleeps on to the radio wake.
        assert 3_400_000 < run_to_sleep(tmp_path, "timer") < 3_600_000
        # An hour passes (moved back in RTC memory rather than waited for).
        rtc = tmp_path / "rtc.bin"
        st = sensor_state.unpack(rtc.read_bytes())
        assert st is not None and st.motion == 3
        st.period_start -= 3_600_000
        st.next_send = 0
        rtc.write_bytes(sensor_state.pack(st))
        assert 3_500_000 < run_to_sleep(tmp_path, "timer") <= 3_600_000
        (occ,) = [json.loads(p) for p in collector.payloads("occupancy")]
        assert [p["motion"] for p in occ["periods"]] == [3, 0, 0, 0]
        assert all("ts" in p for p in occ["periods"])  # the clock from the first wake's NTP
        assert (occ["boot"], occ["seq"]) == (1, 2)
        assert collector.payloads("status") == []  # clean DISCONNECTs: no Will, no birth
    finally:
        collector.stop()
