"""Devices attached by USB: newline-delimited JSON frames through the same pipeline.

Each line from the device is one frame, ``{"topic": "pletfri/v1/dev/<device>/<channel>",
"payload": <object, or text for status>}``. The frame goes through the gateway exactly
as if it had come from the broker; the answer to a tap (`ack`) goes back down the same
line as a frame of the same shape. A line that is not such a frame is dead-lettered
with the reason, like any other bad input.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import serial

from gateway.service import Gateway
from gateway.validate import Rejected

log = logging.getLogger(__name__)

MAX_LINE = 4096


def frame_message(line: bytes) -> tuple[str, bytes]:
    """(topic, payload bytes) of one frame; raises Rejected("bad_frame", ...)."""
    try:
        frame = json.loads(line)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise Rejected("bad_frame", f"not JSON: {str(e)[:80]}") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("topic"), str):
        raise Rejected("bad_frame", 'a frame is {"topic": "...", "payload": ...}')
    payload = frame.get("payload")
    if isinstance(payload, str):
        return frame["topic"], payload.encode()
    return frame["topic"], json.dumps(payload, separators=(",", ":")).encode()


class SerialBridge(threading.Thread):
    def __init__(self, gateway: Gateway, port: serial.Serial) -> None:
        super().__init__(name="gateway-serial", daemon=True)
        self.gateway = gateway
        self.port = port
        self._write_lock = threading.Lock()
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join(5)

    def reply(self, topic: str, payload: dict[str, Any]) -> None:
        data = json.dumps({"topic": topic, "payload": payload}, separators=(",", ":")) + "\n"
        with self._write_lock:
            self.port.write(data.encode())
            self.port.flush()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                line = self.port.readline(MAX_LINE)
            except serial.SerialException as e:
                log.error("serial port %s failed: %s", self.port.port, e)
                self._halt.wait(1.0)
                continue
            line = line.strip()
            if not line:
                continue
            try:
                topic, payload = frame_message(line)
            except Rejected as e:
                self.gateway.feed("(serial)", line, self.reply, rejected=e)
                continue
            self.gateway.feed(topic, payload, self.reply)
