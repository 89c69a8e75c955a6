"""The gateway's pure logic: validation, de-duplication, liveness, registry files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTProtocolVersion

from gateway import points
from gateway.dedup import Dedup, Verdict
from gateway.liveness import Liveness
from gateway.mqtt_client import _decode_publish
from gateway.registry import Device, Registry, RegistryFileError
from gateway.serial_bridge import frame_message
from gateway.validate import MIN_TS_MS, Rejected, parse
from pletfri.influx import line
from pletfri_fw import contract

NOW = 1_790_000_000_000
SENSOR = "occ-a4cf12f0b3c2"
STATION = "nfc-a4cf12f0b3c1"


def occ(periods: list[dict], **extra: object) -> bytes:
    return json.dumps({"v": 1, "boot": 1, "seq": 5, "periods": periods, **extra}).encode()


def reason(topic: str, raw: bytes) -> str:
    with pytest.raises(Rejected) as e:
        parse(topic, raw, NOW)
    return e.value.reason


def test_occupancy_records_are_dated_from_their_ts_or_counted_back_from_receipt() -> None:
    t = contract.topic(SENSOR, contract.OCCUPANCY)
    periods = [
        {"period_s": 900, "motion": 1},
        {"period_s": 900, "motion": 2, "ts": NOW - 900_000},
        {"period_s": 600, "presence_s": 30},
        {"period_s": 900, "entries": 4, "ts": 5},  # before 2020: the clock was not synced
    ]
    msg = parse(t, occ(periods), NOW)
    assert [(r.ts_ms, r.clock_ok) for r in msg.records] == [
        (NOW - 1_500_000 - 900_000, False),
        (NOW - 900_000, True),
        (NOW - 900_000, False),
        (NOW, False),
    ]
    assert msg.records[2].fields == {"period_s": 600, "presence_s": 30}


@pytest.mark.parametrize(
    ("topic", "raw", "expected"),
    [
        ("pletfri/v1/dev/-occ/occupancy", b"{}", "bad_device"),
        ("pletfri/v1/dev/OCC-A4CF12F0B3C2/occupancy", b"{}", "bad_device"),
        ("pletfri/v1/dev/occ-a4cf12f0b3c2", b"{}", "bad_topic"),
        ("pletfri/v2/dev/occ-a4cf12f0b3c2/occupancy", b"{}", "bad_topic"),
        (f"pletfri/v1/dev/{SENSOR}/sneeze", b"{}", "bad_channel"),
        (f"pletfri/v1/dev/{SENSOR}/occupancy", b"x" * 1025, "too_large"),
        (f"pletfri/v1/dev/{SENSOR}/occupancy", b"\xff\xfe", "bad_json"),
        (f"pletfri/v1/dev/{SENSOR}/occupancy", b"[1,2]", "bad_json"),
        (f"pletfri/v1/dev/{SENSOR}/occupancy", b'{"v":2,"boot":1,"seq":1}', "bad_version"),
        (f"pletfri/v1/dev/{SENSOR}/occupancy", b'{"v":1,"boot":"1","seq":1}', "bad_type"),
        (f"pletfri/v1/dev/{SENSOR}/occupancy", b'{"v":1,"boot":true,"seq":1}', "bad_type"),
        (f"pletfri/v1/dev/{SENSOR}/occupancy", b'{"v":1,"boot":-1,"seq":1}', "out_of_range"),
        (f"pletfri/v1/dev/{SENSOR}/occupancy", occ([]), "out_of_range"),
        (f"pletfri/v1/dev/{SENSOR}/occupancy", occ([{"period_s": 900}] * 25), "out_of_range"),
        (f"pletfri/v1/dev/{SENSOR}/occupancy", occ([{"period_s": 900}]), "missing_member"),
        (f"pletfri/v1/dev/{SENSOR}/occupancy", occ([{"period_s": 0, "motion": 1}]), "out_of_range"),
        (
            f"pletfri/v1/dev/{SENSOR}/occupancy",
            occ([{"period_s": 60, "presence_s": 61}]),
            "out_of_range",
        ),
        (f"pletfri/v1/dev/{SENSOR}/occupancy", occ([{"period_s": 60, "motion": 1.5}]), "bad_type"),
        (f"pletfri/v1/dev/{SENSOR}/occupancy", occ([7]), "bad_type"),
        (
            f"pletfri/v1/dev/{SENSOR}/occupancy",
            occ([{"period_s": 9, "motion": 1}], ts="x"),
            "bad_type",
        ),
        (f"pletfri/v1/dev/{STATION}/tap", b'{"v":1,"boot":1,"seq":1,"card":"ABC"}', "bad_card"),
        (
            f"pletfri/v1/dev/{STATION}/heartbeat",
            b'{"v":1,"boot":1,"seq":1,"rssi":5}',
            "out_of_range",
        ),
        (f"pletfri/v1/dev/{STATION}/heartbeat", b'{"v":1,"boot":1,"seq":1,"fw":[1]}', "bad_type"),
        (f"pletfri/v1/dev/{STATION}/status", b"sleeping", "bad_status"),
        (f"pletfri/v1/dev/{SENSOR}/occupancy", b"[" * 1000, "bad_json"),
    ],
)
def test_each_breach_of_the_contract_has_its_reason(topic: str, raw: bytes, expected: str) -> None:
    assert reason(topic, raw) == expected


def test_message_ts_far_in_the_future_or_before_2020_uses_receive_time() -> None:
    t = contract.topic(STATION, contract.TAP)
    for ts in (MIN_TS_MS - 1, NOW + 3_600_000):
        msg = parse(t, json.dumps(contract.tap_payload(1, 1, "0" * 16, ts)).encode(), NOW)
        assert (msg.ts_ms, msg.clock_ok) == (NOW, False)


def test_heartbeat_keeps_the_members_sent_with_text_ones_as_text() -> None:
    raw = json.dumps(
        contract.heartbeat_payload(1, 2, {"batt_mv": 2900, "fw": 1.2, "reset": 5}, NOW)
    ).encode()
    msg = parse(contract.topic(SENSOR, contract.HEARTBEAT), raw, NOW)
    assert msg.fields == {"batt_mv": 2900, "fw": "1.2", "reset": "5"}


def test_dedup_remembers_a_window_per_boot_and_forgets_old_boots() -> None:
    d = Dedup(window=64, boots=2)
    d.begin()
    assert d.check("a", 1, 10) is Verdict.NEW
    assert d.check("a", 1, 10) is Verdict.DUPLICATE
    assert d.check("a", 1, 8) is Verdict.NEW  # a gap filled late
    assert d.check("a", 1, 9) is Verdict.NEW
    assert d.check("a", 1, 8) is Verdict.DUPLICATE
    assert d.check("a", 1, 200) is Verdict.NEW
    assert d.check("a", 1, 100) is Verdict.UNSURE  # more than a window behind
    assert d.check("a", 2, 0) is Verdict.NEW
    assert d.check("a", 3, 0) is Verdict.NEW
    assert d.check("a", 1, 201) is Verdict.UNSURE  # boot 1 forgotten
    assert d.check("a", 2, 0) is Verdict.DUPLICATE
    d.commit()
    saved = d.changed() or [("a", d.dump("a"))]
    again = Dedup(window=64, boots=2)
    again.load(saved)
    again.begin()
    assert again.check("a", 3, 0) is Verdict.DUPLICATE
    assert again.check("a", 3, 1) is Verdict.NEW


def test_dedup_rollback_restores_the_state_before_the_transaction() -> None:
    d = Dedup()
    d.begin()
    d.check("a", 1, 1)
    d.commit()
    d.begin()
    d.check("a", 1, 2)
    d.check("b", 1, 1)
    d.rollback()
    d.begin()
    assert d.check("a", 1, 2) is Verdict.NEW
    assert d.check("a", 1, 1) is Verdict.DUPLICATE
    assert d.check("b", 1, 1) is Verdict.NEW


def test_liveness_marks_a_silent_sensor_once_and_back_when_heard() -> None:
    lv = Liveness(timeout_ms=1000)
    assert lv.seen("s1", 0) is False
    lv.seen("s2", 500)
    assert lv.expired(999) == []
    assert lv.expired(1200) == [("s1", 1000)]
    assert lv.expired(5000) == [("s2", 1500)]
    assert lv.expired(9000) == []
    assert lv.seen("s1", 9000) is True
    assert lv.seen("s1", 9001) is False


def test_registry_reads_cards_and_rereads_changed_files(tmp_path: Path) -> None:
    devices, cards = tmp_path / "devices.csv", tmp_path / "cards.csv"
    devices.write_text(f"device,kind,building,room,room_type\n{STATION},station,b1,r1,office\n")
    reg = Registry(devices, cards)
    assert reg.card_known("ffffffffffffffff")  # no cards file yet: every card counts as known
    cards.write_text("card,role\n0123456789abcdef,trainee\n")
    devices.write_text(
        f"device,kind,building,room,room_type\n{STATION},station,b1,r1,office\n"
        f"{SENSOR},sensor,b1,r1,office\n"
    )
    os.utime(devices, ns=(1, 1))
    assert reg.refresh() is True
    assert reg.device(SENSOR) is not None
    assert reg.card_known("0123456789abcdef") and not reg.card_known("ffffffffffffffff")
    # A broken new version keeps the previous one.
    devices.write_text("device,kind\nx,y\n")
    assert reg.refresh() is False
    assert reg.device(SENSOR) is not None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("device,kind,building\n", "header lacks room, room_type"),
        ("device,kind,building,room,room_type\nBAD,station,b,r,t\n", "line 2: device id 'BAD'"),
        ("device,kind,building,room,room_type\nnfc-abc,lamp,b,r,t\n", "kind 'lamp'"),
    ],
)
def test_a_broken_registry_file_says_where_and_what(
    tmp_path: Path, content: str, message: str
) -> None:
    devices = tmp_path / "devices.csv"
    devices.write_text(content)
    with pytest.raises(RegistryFileError, match=message):
        Registry(devices, tmp_path / "cards.csv")


def test_missing_registry_file_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(RegistryFileError, match="does not exist; export it"):
        Registry(tmp_path / "devices.csv", tmp_path / "cards.csv")


def test_serial_frames() -> None:
    assert frame_message(b'{"topic":"t","payload":"online"}') == ("t", b"online")
    assert frame_message(b'{"topic":"t","payload":{"a":1}}') == ("t", b'{"a":1}')
    for bad in (b"nonsense", b"[]", b'{"payload":1}'):
        with pytest.raises(Rejected, match="bad_frame"):
            frame_message(bad)


def test_cached_line_format_matches_the_shared_line_protocol_writer() -> None:
    tags = {"building": "b 1,=x", "room": "r\\1", "device": STATION, "empty": ""}
    fields = {"a": 1, "b": True, "c": False, "d": 1.5, "e": 'say "hi"\\\nnow', "f": -3}
    assert points._line("tap", tags, fields, NOW) == line("tap", tags, fields, NOW)


def test_occupancy_lines_match_the_shared_line_protocol_writer() -> None:
    t = contract.topic(SENSOR, contract.OCCUPANCY)
    msg = parse(t, occ([{"period_s": 900, "motion": 2, "entries": 0, "ts": NOW}]), NOW)
    dev = Device(SENSOR, "sensor", "b 1", "r,1", "toilet")
    tags = {"building": "b 1", "room": "r,1", "room_type": "toilet", "device": SENSOR}
    fields = {"period_s": 900, "motion": 2, "entries": 0, "clock_ok": True}
    assert points.occupancy_lines(msg, dev) == [line("occupancy", tags, fields, NOW)]


@pytest.mark.parametrize("v5", [True, False])
@pytest.mark.parametrize("qos", [0, 1])
@pytest.mark.parametrize(
    "props", [b"", b"\x01\x01", b"\x23\x00\x05" + b"\x26\x00\x01k\x00\x01v" * 20]
)
def test_raw_publish_decoding_matches_paho(v5: bool, qos: int, props: bytes) -> None:
    if not v5 and props:
        return
    topic = b"pletfri/v1/dev/occ-000000000001/occupancy"
    payload = b'{"v":1,"boot":1,"seq":7}'
    body = len(topic).to_bytes(2, "big") + topic + (b"\x12\x34" if qos else b"")
    if v5:
        n, size = len(props), b""
        while True:
            size += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
            n >>= 7
            if not n:
                break
        body += size + props
    packet = bytearray(body + payload)
    protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
    ref = _packet.decode_publish(0x30 | qos << 1, packet, protocol)
    assert _decode_publish(packet, qos, v5) == (ref.topic, ref.payload, ref.mid, qos)
