"""The gateway on the real broker and InfluxDB: every channel, de-duplication, dead letters."""

from __future__ import annotations

import json
import time

from gwhelpers import (
    CARD,
    SENSORS,
    STATIONS,
    Fleet,
    count,
    occupancy,
    wait_for,
)

from gateway.service import TAP_CHECK, Gateway, Group, Inbound
from pletfri.influx import Influx
from pletfri.settings import Settings
from pletfri_fw import contract

NOW = int(time.time() * 1000)


def test_each_channel_becomes_its_points(
    gateway: Gateway, fleet: Fleet, influx: Influx, gw_settings: Settings
) -> None:
    sensor, station = SENSORS[0], STATIONS[0]
    fleet.subscribe(contract.topic(station, contract.ACK))
    periods = [
        contract.period_record(900, motion=i, presence_s=10 * i, ts=NOW - (3 - i) * 900_000)
        for i in range(4)
    ]
    fleet.send(
        contract.topic(sensor, contract.OCCUPANCY), contract.occupancy_payload(1, 1, periods, NOW)
    )
    fleet.send(
        contract.topic(sensor, contract.HEARTBEAT),
        contract.heartbeat_payload(1, 2, {"batt_mv": 2950, "rssi": -61, "fw": "1.0.3"}, NOW),
    )
    fleet.send(contract.topic(station, contract.STATUS), b"online")
    # The backend's retained need for the station, then a tap with an unknown card.
    fleet.send(
        contract.topic(station, contract.NEED), contract.need_payload("skip", 0.1, None), qos=1
    )
    fleet.flush()
    time.sleep(0.3)
    # Dated now (not NOW, taken at collection): a tap minutes old is not answered.
    fresh = int(time.time() * 1000)
    fleet.send(contract.topic(station, contract.TAP), contract.tap_payload(4, 9, "f" * 16, fresh))
    fleet.flush()

    _, ack = fleet.next()
    assert ack == {"boot": 4, "seq": 9, "result": "unknown_card", "need": "skip"}
    wait_for(lambda: count(influx, "occupancy", "period_s") == 4, what="4 occupancy points")
    rows = influx.query("SELECT * FROM occupancy")
    assert [(r["time"], r["motion"], r["presence_s"], r["clock_ok"]) for r in rows] == [
        (NOW - (3 - i) * 900_000, i, 10 * i, True) for i in range(4)
    ]
    assert {(r["building"], r["room"], r["room_type"], r["device"]) for r in rows} == {
        ("b001", "b001-r00", "classroom", sensor)
    }
    wait_for(lambda: count(influx, "device", "online") == 1 and count(influx, "tap", "seq"))
    hb = influx.query("SELECT batt_mv, rssi, fw, kind FROM device WHERE batt_mv > 0")
    assert hb == [{"time": NOW, "batt_mv": 2950, "rssi": -61, "fw": "1.0.3", "kind": "sensor"}]
    status = influx.query("SELECT online, reason, kind, device FROM device WHERE online >= 0")
    assert [(r["online"], r["reason"], r["kind"], r["device"]) for r in status] == [
        (1, "status", "station", station)
    ]
    tap = influx.query("SELECT card, known FROM tap")
    assert [(r["card"], r["known"]) for r in tap] == [("f" * 16, False)]
    stats = gateway.stats()
    assert stats["accepted"] == 4 and stats["unknown_cards"] == 1 and stats["acks"] == 1


def test_a_tap_nobody_waits_for_is_stored_without_an_ack(
    gateway: Gateway, fleet: Fleet, influx: Influx
) -> None:
    station = STATIONS[3]
    fleet.subscribe(contract.topic(station, contract.ACK))
    now = int(time.time() * 1000)
    skipped = gateway.stats()["acks_skipped"]
    # Queued during a night offline: its station showed amber then and waits for nothing.
    night = contract.tap_payload(1, 1, CARD, now - 2 * 3_600_000)
    fleet.send(contract.topic(station, contract.TAP), night)
    fleet.send(contract.topic(station, contract.TAP), contract.tap_payload(1, 2, CARD, now))
    # No clock yet (no ts): the gateway cannot tell its age, so it answers.
    fleet.send(contract.topic(station, contract.TAP), contract.tap_payload(1, 3, CARD))
    fleet.flush()
    assert [fleet.next()[1]["seq"] for _ in range(2)] == [2, 3]
    wait_for(lambda: count(influx, "tap", "seq") >= 3, what="3 taps stored")
    assert gateway.stats()["acks_skipped"] == skipped + 1


def test_a_tap_that_comes_during_a_big_group_goes_next(gw_settings: Settings) -> None:
    gw = Gateway(gw_settings)  # not started: the committer's steps by hand
    try:
        occ = contract.topic(SENSORS[6], contract.OCCUPANCY)
        batch = [
            Inbound(occ, json.dumps(occupancy(9, i, 1)).encode())
            for i in range(1, 2 * TAP_CHECK + 51)
        ]
        for seq in (1, 2):
            tap = json.dumps(contract.tap_payload(9, seq, CARD, int(time.time() * 1000))).encode()
            gw.tap_inbox.put(Inbound(contract.topic(STATIONS[2], contract.TAP), tap))
        group = Group()
        rest = gw._commit(batch, group, int(time.time() * 1000))
        # Committed up to the first check, the rest kept for after the tap; nothing lost.
        assert len(group.lines) == TAP_CHECK and rest == batch[TAP_CHECK:]
        assert gw._commit(rest, Group(), int(time.time() * 1000)) == rest[TAP_CHECK:]
        assert gw.stats()["accepted"] == 2 * TAP_CHECK
        # The committer puts the waiting taps first: they make a group of their own.
        taps = [gw.tap_inbox.get(), gw.tap_inbox.get()]
        group = Group()
        assert gw._commit(taps + batch, group, int(time.time() * 1000), 2) == batch
        assert len(group.lines) == 2 and len(group.sends) == 2  # the taps' points and acks
    finally:
        gw.spool.close()
        gw.influx.close()


def test_redelivered_messages_are_stored_once_even_after_a_restart(
    gw_settings: Settings, fleet: Fleet, influx: Influx
) -> None:
    station = STATIONS[1]
    fleet.subscribe(contract.topic(station, contract.ACK))
    tap = contract.tap_payload(2, 5, CARD)  # undated: a double would be a second point
    occ = occupancy(2, 6, motion=3)
    gw = Gateway(gw_settings).start()
    assert gw.connected.wait(10)
    for _ in range(3):
        fleet.send(contract.topic(station, contract.TAP), tap)
        fleet.send(contract.topic(SENSORS[1], contract.OCCUPANCY), occ)
    fleet.flush()
    results = [fleet.next()[1]["result"] for _ in range(3)]
    assert results == ["ok", "duplicate", "duplicate"]
    wait_for(lambda: gw.stats()["duplicates"] == 4)
    gw.stop()

    gw = Gateway(gw_settings).start()
    try:
        assert gw.connected.wait(10)
        fleet.send(contract.topic(station, contract.TAP), tap)
        fleet.send(contract.topic(SENSORS[1], contract.OCCUPANCY), occ)
        fleet.flush()
        assert fleet.next()[1]["result"] == "duplicate"
        wait_for(lambda: gw.stats()["duplicates"] == 2)
    finally:
        gw.stop()
    assert count(influx, "tap", "seq") == 1
    assert count(influx, "occupancy", "motion") == 1


def test_bad_input_is_dead_lettered_with_its_reason_and_unknown_devices_once(
    gateway: Gateway, fleet: Fleet, influx: Influx
) -> None:
    fleet.subscribe(contract.DEADLETTER_TOPIC)
    fleet.send(contract.topic(SENSORS[2], contract.OCCUPANCY), b'{"v":1,"boot":1}')
    for seq in range(5):
        fleet.send(contract.topic("occ-ffffffffffff", contract.OCCUPANCY), occupancy(1, seq, 1))
    fleet.send(contract.topic(STATIONS[0], contract.OCCUPANCY), occupancy(1, 1, 1))
    fleet.send(contract.topic(SENSORS[2], contract.OCCUPANCY), occupancy(1, 2, 7))
    fleet.flush()
    letters = [fleet.next()[1] for _ in range(3)]
    assert [(d["reason"], d["topic"]) for d in letters] == [
        ("bad_type", contract.topic(SENSORS[2], contract.OCCUPANCY)),
        ("unknown_device", contract.topic("occ-ffffffffffff", contract.OCCUPANCY)),
        ("wrong_kind", contract.topic(STATIONS[0], contract.OCCUPANCY)),
    ]
    assert letters[0]["excerpt"] == '{"v":1,"boot":1}'
    assert "seq must be an integer" in letters[0]["detail"]
    wait_for(lambda: count(influx, "occupancy", "motion") == 1)
    assert gateway.stats()["rejected"] == {"bad_type": 1, "unknown_device": 5, "wrong_kind": 1}
    assert fleet.received.empty()


def test_registry_changes_are_picked_up_without_a_restart(
    gateway: Gateway, fleet: Fleet, influx: Influx, gw_settings: Settings
) -> None:
    new = "occ-0000000000ff"
    fleet.send(contract.topic(new, contract.OCCUPANCY), occupancy(1, 1, 1))
    fleet.flush()
    wait_for(lambda: gateway.stats()["rejected"].get("unknown_device") == 1)
    with gw_settings.gateway.registry_file.open("a") as f:
        f.write(f"{new},sensor,b002,b002-r01,toilet\n")
    time.sleep(1.2)  # the gateway looks at the file once a second
    fleet.send(contract.topic(new, contract.OCCUPANCY), occupancy(1, 2, 1))
    fleet.flush()
    rows = wait_for(lambda: influx.query("SELECT motion, building, room_type FROM occupancy"))
    assert [(r["building"], r["room_type"]) for r in rows] == [("b002", "toilet")]


def test_a_silent_sensor_is_marked_offline_on_simulated_time(
    gw_settings: Settings, fleet: Fleet, influx: Influx
) -> None:
    gw_settings.gateway.last_seen_timeout_s = 3600
    clock = [NOW - 86_400_000]  # a day ago, as the demo's simulated time runs in the past
    gw = Gateway(gw_settings, clock=lambda: clock[0]).start()
    try:
        assert gw.connected.wait(10)
        fleet.send(contract.topic(SENSORS[3], contract.OCCUPANCY), occupancy(1, 1, 1))
        fleet.flush()
        wait_for(lambda: gw.stats()["accepted"] == 1)
        heard = clock[0]
        clock[0] += 3_600_001
        wait_for(lambda: gw.stats()["timeouts"] == 1, timeout=5)
        fleet.send(contract.topic(SENSORS[3], contract.OCCUPANCY), occupancy(1, 2, 1))
        fleet.flush()
        wait_for(lambda: count(influx, "device", "online") == 2)
    finally:
        gw.stop()
    rows = influx.query("SELECT online, reason FROM device")
    assert [(r["time"], r["online"], r["reason"]) for r in rows] == [
        (heard + 3_600_000, 0, "timeout"),
        (clock[0], 1, "heard"),
    ]


def test_own_counters_become_gateway_points(
    gw_settings: Settings, fleet: Fleet, influx: Influx
) -> None:
    gw_settings.gateway.stats_interval_s = 0.5
    gw = Gateway(gw_settings).start()
    try:
        assert gw.connected.wait(10)
        fleet.send(contract.topic(SENSORS[4], contract.OCCUPANCY), b"nonsense")
        fleet.flush()
        rows = wait_for(
            lambda: influx.query("SELECT * FROM gateway WHERE rejected_bad_json = 1"), timeout=10
        )
    finally:
        gw.stop()
    assert rows[0]["gateway"] == gw_settings.gateway.client_id
    assert rows[0]["received"] == 1 and "spool_lines" in rows[0]


def test_data_influxdb_refuses_is_quarantined_and_the_rest_flows(
    gateway: Gateway, fleet: Fleet, influx: Influx
) -> None:
    # A field of another type in the same series: InfluxDB answers 400 (type conflict).
    influx.write([f'tap,building=b001,device={STATIONS[2]},room=b001-r02 seq="x" {NOW - 5}'])
    fleet.send(contract.topic(STATIONS[2], contract.TAP), contract.tap_payload(1, 1, CARD, NOW))
    fleet.flush()
    wait_for(lambda: gateway.stats()["quarantined"] >= 1, what="quarantine")
    fleet.send(contract.topic(SENSORS[5], contract.OCCUPANCY), occupancy(1, 1, 2))
    fleet.flush()
    wait_for(lambda: count(influx, "occupancy", "motion") == 1)
    assert gateway.spool.quarantined() == 1
    wait_for(lambda: gateway.stats()["spool_lines"] == 0, what="spool drained")
