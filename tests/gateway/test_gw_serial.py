"""The serial bridge on a pseudo-terminal pair: frames in, points stored, acks back."""

from __future__ import annotations

import json
import os
import select
import time
import tty

import serial
from gwhelpers import CARD, SENSORS, STATIONS, count, occupancy, wait_for

from gateway.serial_bridge import SerialBridge
from gateway.service import Gateway
from pletfri.influx import Influx
from pletfri.settings import Settings
from pletfri_fw import contract


def read_frame(fd: int, timeout: float = 5.0) -> dict:
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"no frame within {timeout} s (got {buf!r})")
        buf += os.read(fd, 4096)
    return json.loads(buf.split(b"\n")[0])


def test_frames_from_a_usb_device_go_through_the_pipeline(
    gw_settings: Settings, influx: Influx
) -> None:
    device_end, gateway_end = os.openpty()
    tty.setraw(device_end)
    port = serial.Serial(os.ttyname(gateway_end), 115200, timeout=0.2)
    gw = Gateway(gw_settings, uplink=False).start()
    bridge = SerialBridge(gw, port)
    bridge.start()
    try:
        tap = contract.tap_payload(1, 1, CARD, int(time.time() * 1000))
        frames = [
            {"topic": contract.topic(STATIONS[0], contract.TAP), "payload": tap},
            {
                "topic": contract.topic(SENSORS[0], contract.OCCUPANCY),
                "payload": occupancy(1, 2, 5),
            },
            {"topic": contract.topic(SENSORS[0], contract.STATUS), "payload": "online"},
        ]
        data = b"".join(json.dumps(f).encode() + b"\n" for f in frames)
        os.write(device_end, b"this is not a frame\n" + data)
        ack = read_frame(device_end)
        assert ack == {
            "topic": contract.topic(STATIONS[0], contract.ACK),
            "payload": {"boot": 1, "seq": 1, "result": "ok", "need": "unknown"},
        }
        wait_for(lambda: count(influx, "occupancy", "motion") == 1)
        wait_for(lambda: count(influx, "device", "online") == 1)
        assert gw.stats()["rejected"] == {"bad_frame": 1}
    finally:
        bridge.stop()
        gw.stop()
        port.close()
        os.close(device_end)
