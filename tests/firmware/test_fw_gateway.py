"""The station's light answers a tap within half a second through the real gateway."""

from __future__ import annotations

import time

from gateway.service import Gateway
from pletfri.settings import Settings
from pletfri_fw import contract, feedback
from pletfri_host.paho_link import PahoLink, clear_retained
from pletfri_host.sim import make_station

DEVICE = "nfc-a4cf12f0b3c7"


def now_ms() -> int:
    return int(time.monotonic() * 1000)


def test_feedback_from_the_ack_within_500_ms(settings: Settings) -> None:
    settings.gateway.registry_file.write_text(
        f"device,kind,building,room,room_type\n{DEVICE},station,b001,b001-r102,classroom\n"
    )
    gw = Gateway(settings)
    gw.start()
    link = PahoLink(settings.mqtt.host, settings.mqtt.port, DEVICE)
    station = make_station(
        DEVICE, b"site-key", link, unix_offset_ms=int(time.time() * 1000) - now_ms()
    )
    station.start(now_ms())
    try:
        assert gw.connected.wait(5)
        deadline = time.monotonic() + 5
        while not station.uplink.up():
            assert time.monotonic() < deadline, station.uplink.last_error
            station.poll(now_ms())
            time.sleep(0.01)
        latencies = []
        for i in range(20):
            t0 = now_ms()
            station.card_read(bytes([4, 1, 2, i]), t0)
            while station.feedback.showing == feedback.PENDING:
                station.poll(now_ms())
                time.sleep(0.002)
            assert station.feedback.showing == feedback.CLEAN
            latencies.append(now_ms() - t0)
            time.sleep(0.02)
        assert max(latencies) < 500, latencies
    finally:
        station.shutdown(now_ms())
        gw.stop()
        clear_retained(settings.mqtt.host, settings.mqtt.port, [contract.topic(DEVICE, "status")])
