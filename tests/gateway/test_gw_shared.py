"""Several gateways on one shared subscription: a process killed mid-stream, a device's
messages moving between gateways, and sensor liveness that no single gateway sees whole.

Mosquitto hands each message of a shared subscription to one member, round robin, and
keeps a message it handed to a member in that member's session: a redelivery goes to
the same gateway, whose de-dup state knows it. What does move is a device's *resend*
(the device got no PUBACK, e.g. across a broker restart): a new message for the broker,
so it can land on another gateway whose state has never seen it.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest
from gwhelpers import (
    CARD,
    SENSORS,
    STATIONS,
    Fleet,
    check_stream,
    count,
    own_settings,
    stream,
    wait_for,
)

from gateway.service import Gateway
from pletfri.influx import Influx
from pletfri.services import Stack, pletfri_process
from pletfri.settings import Settings
from pletfri_fw import contract

pytestmark = pytest.mark.slow

TS = 1_764_000_000_000


def _pair(stack: Stack, tmp: Path, db: str, **gateway: object) -> tuple[Settings, Settings]:
    a = own_settings(stack, tmp / "a", db, shared_group=f"g{db}", **gateway)
    b = a.model_copy(deep=True)
    b.gateway.client_id += "-b"
    b.gateway.state_dir = tmp / "b"
    return a, b


def _ready(log: Path, times: int) -> bool:
    return log.exists() and log.read_text().count("subscribed; ready") >= times


def test_one_of_two_gateway_processes_killed_mid_stream_loses_and_doubles_nothing(
    own_stack: Stack, tmp_path: Path
) -> None:
    a, b = _pair(own_stack, tmp_path, "sharedkill")
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [
        pletfri_process(s, ["gateway", "run"], log, PLETFRI_GATEWAY__BATCH_INTERVAL_S="0.1")
        for s, log in zip((a, b), logs, strict=True)
    ]
    fleet = Fleet(a, "fleet-sharedkill")
    try:
        wait_for(lambda: all(_ready(log, 1) for log in logs), what="both gateways ready")
        sender = threading.Thread(target=stream, args=(fleet, 0, 6000, 2000))
        sender.start()
        time.sleep(1.0)
        procs[1].send_signal(signal.SIGKILL)
        procs[1].wait()
        # Mosquitto keeps handing the dead gateway's session its share of the stream; it
        # gets them (and what it had not acknowledged) when it comes back as itself.
        time.sleep(1.0)
        procs[1] = pletfri_process(
            b, ["gateway", "run"], logs[1], PLETFRI_GATEWAY__BATCH_INTERVAL_S="0.1"
        )
        sender.join()
        fleet.flush()
        # Undated messages: one stored twice would be two points (two receive times).
        with Influx(a.influx) as influx:
            check_stream(influx, 6000)
    finally:
        fleet.close()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(20)
    assert all(p.returncode == 0 for p in procs)


def test_a_resend_that_lands_on_the_other_gateway_is_stored_once(
    own_stack: Stack, tmp_path: Path
) -> None:
    # Gateway a stores the three messages; the device sends them again and they land on
    # gateway b, whose de-dup state has never seen them (on a shared subscription that is
    # the broker's choice; here b alone is up, so it is certain).
    a, b = _pair(own_stack, tmp_path, "sharedmove")
    a.gateway.shared_group = b.gateway.shared_group = ""
    fleet = Fleet(a, "fleet-sharedmove")
    station, sensor = STATIONS[0], SENSORS[0]
    ts = int(time.time() * 1000)  # a tap older than ack_max_age_s would not be answered
    periods = [
        contract.period_record(900, motion=i + 1, ts=ts - (3 - i) * 900_000) for i in range(4)
    ]
    msgs = [
        (contract.topic(station, contract.TAP), contract.tap_payload(5, 1, CARD, ts)),
        (contract.topic(sensor, contract.OCCUPANCY), contract.occupancy_payload(5, 1, periods, ts)),
        (
            contract.topic(sensor, contract.HEARTBEAT),
            contract.heartbeat_payload(5, 2, {"batt_mv": 2900}, ts + 1),
        ),
    ]
    acks = []
    try:
        fleet.subscribe(contract.topic(station, contract.ACK))
        for s in (a, b):
            gw = Gateway(s).start()
            try:
                assert gw.connected.wait(10)
                for topic, payload in msgs:
                    fleet.send(topic, payload)
                fleet.flush()
                wait_for(lambda gw=gw: gw.stats()["accepted"] == 3, what=f"{s.gateway.client_id}")
                assert gw.stats()["duplicates"] == 0
                acks.append(fleet.next()[1]["result"])
            finally:
                gw.stop()
        with Influx(a.influx) as influx:
            time.sleep(0.5)
            # Dated points: the same series and time, so InfluxDB keeps one of each.
            assert count(influx, "tap", "seq") == 1
            assert count(influx, "occupancy", "motion") == 4
            assert count(influx, "device", "batt_mv") == 1
        # Both copies of the tap are answered `ok`; the station takes the first and, having
        # no tap waiting any more, ignores the second (pletfri_fw.station.on_message).
        assert acks == ["ok", "ok"]
    finally:
        fleet.close()


def test_gateways_share_last_seen_so_a_sensor_split_between_them_never_times_out(
    own_stack: Stack, tmp_path: Path
) -> None:
    a, b = _pair(own_stack, tmp_path, "sharedlive", last_seen_timeout_s=60)
    now = [TS]
    gws = [Gateway(s, clock=lambda: now[0]).start() for s in (a, b)]
    fleet = Fleet(a, "fleet-sharedlive")
    sensor = SENSORS[1]
    try:
        assert all(g.connected.wait(10) for g in gws)
        # Every 40 s of simulated time; each gateway gets every other one, 80 s apart.
        for i in range(6):
            now[0] = TS + i * 40_000
            hb = contract.heartbeat_payload(7, i + 1, {"batt_mv": 2900}, now[0])
            fleet.send(contract.topic(sensor, contract.HEARTBEAT), hb)
            fleet.flush()
            wait_for(lambda i=i: sum(g.stats()["accepted"] for g in gws) == i + 1, what="taken")
            time.sleep(1.3)  # a housekeeping turn: `seen` published and taken in
        assert [g.stats()["accepted"] for g in gws] == [3, 3]
        assert sum(g.stats()["timeouts"] for g in gws) == 0
        last = TS + 5 * 40_000
        seen = [0, 0]

        def both_know() -> bool:
            seen[:] = [g.liveness.last_seen(sensor) for g in gws]
            return seen == [last, last]

        wait_for(both_know, what=f"both gateways know the last heartbeat ({seen})")
        # Then the sensor dies: both gateways mark it offline at the same time, one point.
        now[0] = TS + 400_000
        wait_for(lambda: all(g.stats()["timeouts"] == 1 for g in gws), what="both time out")
        with Influx(a.influx) as influx:
            where = "WHERE reason = 'timeout'"
            wait_for(lambda: count(influx, "device", "online", where) >= 1, what="timeout point")
            time.sleep(0.5)
            rows = influx.query(f'SELECT "online" FROM device {where}')
            assert [r["time"] for r in rows] == [last + 60_000]
    finally:
        fleet.close()
        for g in gws:
            g.stop()
