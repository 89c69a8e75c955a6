"""Faults in the middle of a stream: after each, every message is in InfluxDB exactly once.

These tests stop and restart servers, so they run on servers of their own (`own_stack`).
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from gwhelpers import Fleet, check_stream, own_settings, stream, wait_for

from gateway.service import Gateway
from pletfri.influx import Influx
from pletfri.services import Stack, pletfri_process
from pletfri.settings import Settings

pytestmark = pytest.mark.slow


def test_influxdb_outage_holds_points_in_the_spool(own_stack: Stack, tmp_path: Path) -> None:
    s = own_settings(own_stack, tmp_path, "outage", retry_max_s=0.5)
    gw = Gateway(s).start()
    fleet = Fleet(s, "fleet-outage")
    try:
        assert gw.connected.wait(10)
        stream(fleet, 0, 500)
        own_stack.influxdb.stop()
        stream(fleet, 500, 1000)
        fleet.flush()
        wait_for(lambda: gw.stats()["accepted"] == 1500, what="all accepted while InfluxDB is down")
        assert gw.stats()["spool_lines"] > 0
        own_stack.influxdb.start()
        stream(fleet, 1500, 500)
        fleet.flush()
        with Influx(s.influx) as influx:
            check_stream(influx, 2000)
        assert gw.stats()["write_errors"] > 0
    finally:
        fleet.close()
        gw.stop()
        own_stack.influxdb.start()


def test_broker_restart_loses_nothing(own_stack: Stack, tmp_path: Path) -> None:
    s = own_settings(own_stack, tmp_path, "brokerrestart")
    gw = Gateway(s).start()
    fleet = Fleet(s, "fleet-broker")
    try:
        assert gw.connected.wait(10)
        # Fast, so that some are still queued for the gateway when the broker stops.
        stream(fleet, 0, 3000, rate=8000)
        fleet.flush()
        own_stack.mosquitto.stop()
        own_stack.mosquitto.start()
        # Deadlines, not timings: a busy machine restarts the broker slowly.
        wait_for(fleet.client.is_connected, timeout=30, what="publisher back")
        wait_for(gw.connected.is_set, timeout=30, what="gateway back")
        stream(fleet, 3000, 1000)
        fleet.flush()
        with Influx(s.influx) as influx:
            check_stream(influx, 4000)
    finally:
        fleet.close()
        gw.stop()


def _gateway_process(s: Settings, log: Path) -> subprocess.Popen[bytes]:
    return pletfri_process(s, ["gateway", "run"], log, PLETFRI_GATEWAY__BATCH_INTERVAL_S="0.1")


def _ready(log: Path, times: int) -> bool:
    return log.exists() and log.read_text().count("subscribed; ready") >= times


def test_kill_9_of_the_gateway_loses_and_doubles_nothing(own_stack: Stack, tmp_path: Path) -> None:
    s = own_settings(own_stack, tmp_path, "kill9")
    log = tmp_path / "gateway.log"
    proc = _gateway_process(s, log)
    fleet = Fleet(s, "fleet-kill9")
    try:
        wait_for(lambda: _ready(log, 1), what="gateway process ready")
        sender = threading.Thread(target=stream, args=(fleet, 0, 6000, 2000))
        sender.start()
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(0.3)
        proc = _gateway_process(s, log)
        sender.join()
        fleet.flush()
        with Influx(s.influx) as influx:
            check_stream(influx, 6000)
        assert _ready(log, 2)
    finally:
        fleet.close()
        proc.terminate()
        proc.wait(20)
    assert proc.returncode == 0


def test_two_gateways_on_a_shared_subscription_split_the_stream(
    own_stack: Stack, tmp_path: Path
) -> None:
    a = own_settings(own_stack, tmp_path / "a", "shared", shared_group="pletfri")
    b = a.model_copy(deep=True)
    b.gateway.client_id += "-b"
    b.gateway.state_dir = tmp_path / "b"
    gws = [Gateway(a).start(), Gateway(b).start()]
    fleet = Fleet(a, "fleet-shared")
    try:
        assert all(g.connected.wait(10) for g in gws)
        stream(fleet, 0, 3000, rate=3000)
        fleet.flush()
        with Influx(a.influx) as influx:
            check_stream(influx, 3000)
        accepted = [g.stats()["accepted"] for g in gws]
        assert sum(accepted) == 3000 and min(accepted) > 500, accepted
    finally:
        fleet.close()
        for g in gws:
            g.stop()
