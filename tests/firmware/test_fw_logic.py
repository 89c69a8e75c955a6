"""Station, sensor and uplink logic under CPython with fake hardware and a link double."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from fwlink import FakeLink

from pletfri_fw import contract, feedback
from pletfri_fw.pseudonym import Pseudonymiser
from pletfri_fw.sensor import Sensor
from pletfri_fw.station import Station
from pletfri_host.fakes import MemRtc
from pletfri_host.memfs import MemFS
from pletfri_host.sim import make_sensor, make_station

DEV = "nfc-a4cf12f0b3c1"
OCC = "occ-a4cf12f0b3c2"
KEY = bytes(range(32))
UNIX = 1_764_300_000_000
A = bytes.fromhex("04a1b2c3")
B = bytes.fromhex("04a1b2c4d5e6f7")


def station(link: FakeLink, **kw: object) -> Station:
    s = make_station(DEV, KEY, link, **kw)  # type: ignore[arg-type]
    s.start(0)
    s.poll(0)
    return s


def test_pseudonym_is_hmac_sha256_truncated() -> None:
    for key in (b"site-key", KEY, b"k" * 100):
        expected = hmac.new(key, B, hashlib.sha256).hexdigest()[:16]
        assert Pseudonymiser(key).card(B) == expected


def test_tap_is_queued_sent_and_removed_on_puback() -> None:
    link = FakeLink()
    s = station(link, unix_offset_ms=UNIX)
    assert link.sent[0][1:] == (contract.topic(DEV, "status"), b"online", True)
    assert link.will == (contract.topic(DEV, "status"), b"offline")
    # One SUBSCRIBE for the three downlink channels.
    assert link.subscribed == [[contract.topic(DEV, c) for c in ("ack", "need", "config")]]
    assert s.card_read(A, 1000)
    tap = link.payloads("tap")[0]
    assert tap == {"v": 1, "boot": 1, "seq": 1, "ts": UNIX + 1000, "card": s.pseudo.card(A)}
    assert A.hex() not in json.dumps(tap)
    assert len(s.uplink.store) == 1
    link.ack()
    assert len(s.uplink.store) == 0


def test_debounce_same_card_counts_once() -> None:
    link = FakeLink()
    s = station(link)
    assert [s.card_read(A, t) for t in (0, 200, 2900, 6000)] == [True, False, False, True]
    assert s.card_read(B, 6100) and s.card_read(A, 6200)
    assert [p["seq"] for p in link.payloads("tap")] == [1, 2, 3, 4]


def test_ack_within_500_ms_shows_result_and_need() -> None:
    link = FakeLink()
    s = station(link)
    s.card_read(A, 1000)
    assert s.feedback.showing == feedback.PENDING
    link.deliver(contract.topic(DEV, "ack"), contract.ack_payload(1, 1, "ok", "skip"))
    s.poll(1200)
    assert s.feedback.showing == feedback.SKIP and s.feedback.led.colour == feedback.BLUE
    s.card_read(B, 5000)
    link.deliver(contract.topic(DEV, "ack"), contract.ack_payload(1, 2, "unknown_card", "clean"))
    s.poll(5300)
    assert s.feedback.led.colour == feedback.RED
    assert s.feedback.buzzer.beeps >= 3  # boot, skip x2, unknown
    s.poll(9000)
    assert s.feedback.led.colour == feedback.OFF


def test_an_ack_for_another_tap_is_ignored() -> None:
    link = FakeLink()
    s = station(link)
    s.card_read(A, 1000)
    link.deliver(contract.topic(DEV, "ack"), contract.ack_payload(1, 7, "ok", "clean"))
    link.deliver(contract.topic(DEV, "ack"), b"not json")  # type: ignore[arg-type]
    s.poll(1100)
    assert s.feedback.showing == feedback.PENDING


def test_offline_tap_is_amber_at_once_and_sent_in_order_later() -> None:
    link = FakeLink()
    s = station(link)
    link.drop()
    link.reachable = False
    for i, t in enumerate(range(1000, 6000, 1000)):
        s.poll(t)
        s.card_read(bytes([1, 2, 3, i]), t)
        assert s.feedback.showing == feedback.QUEUED
        assert s.feedback.led.colour == feedback.AMBER
    assert len(s.uplink.store) == 5 and link.payloads("tap") == []
    link.reachable = True
    t = 6000
    while not link.connected:
        t += 100
        s.poll(t)
    for _ in range(3):  # the window keeps 4 in flight; acks let the rest follow
        link.ack()
        s.poll(t)
    assert [p["seq"] for p in link.payloads("tap")] == [1, 2, 3, 4, 5]
    assert len(s.uplink.store) == 0


def test_no_ack_in_time_turns_amber() -> None:
    link = FakeLink()
    s = station(link)
    s.card_read(A, 1000)
    s.poll(2400)
    assert s.feedback.showing == feedback.PENDING
    s.poll(2500)
    assert s.feedback.showing == feedback.QUEUED


def test_unacked_messages_are_resent_after_reconnect() -> None:
    link = FakeLink()
    s = station(link)
    for i in range(3):
        s.card_read(bytes([9, i]), 1000 + i * 4000)
    link.ack(2)  # the birth and the first tap
    link.drop()
    t = 20000
    while not link.connected:
        t += 100
        s.poll(t)
    seqs = [p["seq"] for p in link.payloads("tap")]
    assert seqs == [1, 2, 3, 2, 3]  # resent with the same boot and seq: the platform de-duplicates


def test_reconnect_backoff_grows_with_jitter_and_is_capped() -> None:
    link = FakeLink()
    s = station(link)
    link.drop()
    link.reachable = False
    for t in range(0, 3_000_000, 50):
        s.poll(t)
    gaps = [b - a for a, b in zip(link.opens, link.opens[1:], strict=False)]
    assert 400 <= gaps[0] <= 1100 and gaps[3] > gaps[0]
    assert max(gaps) <= 120_050 and max(gaps[-5:]) >= 60_000
    # Two stations lose the same broker: their retries spread out.
    other = FakeLink()
    s2 = make_station("nfc-a4cf12f0b3c9", KEY, other)
    s2.start(0)
    other.reachable = False
    for t in range(0, 3_000_000, 50):
        s2.poll(t)
    assert other.opens[3:8] != link.opens[3:8]


def test_heartbeat_carries_queue_and_drops() -> None:
    link = FakeLink()
    s = station(link, settings={"heartbeat_s": 60})
    link.drop()
    link.reachable = False
    s.uplink.store.max_items = 2
    for i in range(4):
        s.card_read(bytes([7, i]), 1000 + i * 4000)
    link.reachable = True
    for t in range(20000, 130000, 100):
        s.poll(t)
    hb = link.payloads("heartbeat")[0]
    assert hb["queue"] >= 1 and hb["dropped"] >= 2 and hb["uptime_s"] == 60


def test_a_night_offline_sends_the_taps_then_one_heartbeat() -> None:
    link = FakeLink()
    s = station(link)  # the firmware's default heartbeat, every 300 s
    link.drop()
    link.reachable = False
    night = 8 * 3_600_000
    for i, t in enumerate((1_000_000, 9_000_000, 20_000_000)):
        s.card_read(bytes([3, i]), t)
    for t in range(0, night, 1000):
        s.poll(t)
    assert len(s.uplink.store) == 3  # 96 heartbeats were due: only the newest waits
    link.reachable = True
    before = len(link.sent)
    t = night
    while not link.connected:
        t += 100
        s.poll(t)
    topics = [topic.rsplit("/", 1)[1] for _, topic, _, _ in link.sent[before:]]
    assert topics == ["status", "tap", "tap", "tap", "heartbeat"]
    (hb,) = link.payloads("heartbeat")
    assert hb["queue"] == 3 and hb["uptime_s"] > night // 1000 - 300
    link.ack()
    s.poll(t + 10)
    assert s.uplink.idle()


def test_a_live_tap_goes_before_the_waiting_heartbeat() -> None:
    link = FakeLink()
    s = station(link)
    link.drop()
    link.reachable = False
    for i in range(6):
        s.card_read(bytes([4, i]), 10_000 + i * 4000)
    s.poll(400_000)  # a heartbeat is due and waits
    link.reachable = True
    before = len(link.sent)
    t = 400_000
    while not link.connected:
        t += 100
        s.poll(t)
    s.card_read(A, t)  # a cleaner at the door while the station catches up
    while not s.uplink.idle():
        link.ack(1)
        t += 10
        s.poll(t)
    topics = [topic.rsplit("/", 1)[1] for _, topic, _, _ in link.sent[before:]]
    assert topics == ["status"] + ["tap"] * 7 + ["heartbeat"]
    assert [p["seq"] for p in link.payloads("tap")] == [1, 2, 3, 4, 5, 6, 8]


def test_a_late_puback_for_a_replaced_heartbeat_keeps_the_new_one() -> None:
    link = FakeLink()
    s = station(link)
    link.ack()  # the birth
    s.heartbeat(1000)
    s.heartbeat(2000)  # while the first is in flight
    link.ack()
    s.poll(2010)
    hbs = link.payloads("heartbeat")
    assert [h["uptime_s"] for h in hbs] == [1, 2]  # the newer one went after the PUBACK
    link.ack()
    s.poll(2020)
    assert s.uplink.idle()


def test_config_changes_debounce() -> None:
    link = FakeLink()
    s = station(link)
    link.deliver(contract.topic(DEV, "config"), {"debounce_ms": 10000, "bogus": "x"})
    s.poll(10)
    assert s.card_read(A, 100) and not s.card_read(A, 8000)


def test_config_rotates_the_site_key_with_an_overlap() -> None:
    link = FakeLink()
    s = station(link)
    new = bytes(range(100, 132))
    link.deliver(contract.topic(DEV, "config"), {"site_key": new.hex(), "site_key_prev": KEY.hex()})
    s.poll(10)
    assert s.card_read(A, 100)
    link.deliver(contract.topic(DEV, "config"), {"site_key": new.hex(), "site_key_prev": None})
    s.poll(5000)
    assert s.card_read(A, 6000)
    overlap, after = link.payloads("tap")
    assert overlap["card"] == after["card"] == Pseudonymiser(new).card(A)
    assert overlap["card_prev"] == Pseudonymiser(KEY).card(A) and "card_prev" not in after
    # A config without a usable key leaves the key as it is.
    link.deliver(contract.topic(DEV, "config"), {"site_key": "abc"})
    s.poll(10000)
    assert s.card_read(A, 11000) and link.payloads("tap")[-1]["card"] == after["card"]


def test_clean_shutdown_says_offline_and_disconnects() -> None:
    link = FakeLink()
    s = station(link)
    s.shutdown(100)
    assert link.sent[-1][2:] == (b"offline", True) and link.closed_clean == 1


def wake_cycle(sensor: Sensor, link: FakeLink, now: int) -> int:
    sensor.resume(now)
    if sensor.wake(now):
        while not sensor.done(now):
            sensor.poll(now)
            link.ack()
            now += 10
    return sensor.sleep(now)


def test_sensor_counts_survive_deep_sleep_and_send_one_message_per_wake() -> None:
    link = FakeLink()
    fs, rtc = MemFS(), MemRtc()

    def device() -> Sensor:  # every deep-sleep wake is a fresh start of the program
        return make_sensor(OCC, link, unix_offset_ms=UNIX, fs=fs, rtc=rtc)

    sleep = wake_cycle(device(), link, 0)
    assert 3_590_000 < sleep <= 3_600_000
    for t in range(60_000, 3_600_000, 120_000):  # PIR wakes: count, sleep
        s = device()
        s.resume(t)
        s.pir(t)
        s.sleep(t)
    wake_cycle(device(), link, 3_600_000)
    occ = link.payloads("occupancy")
    assert len(occ) == 1
    periods = occ[0]["periods"]
    assert [p["motion"] for p in periods] == [7, 8, 7, 8]  # 900 s belongs to the second
    assert [p["ts"] for p in periods] == [UNIX + 900_000 * i for i in range(1, 5)]
    assert all(p["period_s"] == 900 for p in periods)
    hb = link.payloads("heartbeat")
    assert [h["boot"] for h in hb] == [1, 1] and [occ[0]["seq"], hb[1]["seq"]] == [2, 3]
    assert link.closed_clean == 2  # a clean DISCONNECT each time: no Last Will
    assert not any(t.endswith("/status") for _, t, _, _ in link.sent)


def test_sensor_power_loss_starts_a_new_boot_and_keeps_the_queue() -> None:
    link = FakeLink()
    fs, rtc = MemFS(), MemRtc()
    link.reachable = False
    s = make_sensor(OCC, link, fs=fs, rtc=rtc)
    wake_cycle(s, link, 0)
    assert s.uplink.store.last()[0] == "heartbeat"  # the heartbeat waits on flash
    rtc.wipe()
    link.reachable = True
    s = make_sensor(OCC, link, fs=fs, rtc=rtc)
    assert s.uplink.store.has_last()
    wake_cycle(s, link, 10_000)
    # The new boot's heartbeat (with its reset cause) replaced the one that waited.
    assert [h["boot"] for h in link.payloads("heartbeat")] == [2]
    assert s.uplink.idle()


def test_sensor_without_clock_sends_periods_without_ts() -> None:
    link = FakeLink()
    s = make_sensor(OCC, link, unix_offset_ms=None, settings={"send_s": 1800})
    wake_cycle(s, link, 0)
    s2 = make_sensor(OCC, link, unix_offset_ms=None, fs=s.uplink.store.fs, rtc=s.rtc)
    s2.resume(1000)
    s2.presence(1000, 30)
    s2.door(1000, 2)
    s2.sleep(1000)
    s3 = make_sensor(OCC, link, unix_offset_ms=None, fs=s.uplink.store.fs, rtc=s.rtc)
    wake_cycle(s3, link, 1_800_000)
    (occ,) = link.payloads("occupancy")
    assert "ts" not in occ
    assert occ["periods"] == [
        {"period_s": 900, "motion": 0, "presence_s": 30, "entries": 2},
        {"period_s": 900, "motion": 0},
    ]


def test_sensor_gives_up_after_awake_max_and_keeps_messages() -> None:
    link = FakeLink()
    link.reachable = False
    s = make_sensor(OCC, link, settings={"awake_max_ms": 2000})
    s.resume(0)
    assert s.wake(0)
    t = 0
    while not s.done(t):
        s.poll(t)
        t += 100
    assert t == 2000 and s.uplink.store.last()[0] == "heartbeat"


@pytest.mark.parametrize("size", [1, 24, 30])
def test_sensor_sends_at_most_24_periods(size: int) -> None:
    link = FakeLink()
    s = make_sensor(OCC, link, settings={"send_s": 900 * size})
    wake_cycle(s, link, 0)
    s = make_sensor(OCC, link, fs=s.uplink.store.fs, rtc=s.rtc)
    wake_cycle(s, link, 900_000 * size)
    occ = link.payloads("occupancy")
    assert sum(len(m["periods"]) for m in occ) == min(size, 24)
    assert len(occ) == (1 if size == 1 else 2)  # a dated day is over 1024 bytes: split
    assert all(len(json.dumps(m, separators=(",", ":"))) <= 1024 for m in occ)


def test_missing_puback_reconnects_and_resends() -> None:
    link = FakeLink()
    s = station(link)
    s.uplink.puback_ms = 15_000  # the device's setting (the simulator's devices have 0)
    s.card_read(A, 1000)
    s.poll(10_000)
    assert link.connected  # still waiting
    s.poll(16_100)  # 15 s without the PUBACK: the connection is not to be trusted
    assert not link.connected and "PUBACK" in str(s.uplink.last_error)
    t = 16_100
    while not link.connected:
        t += 100
        s.poll(t)
    assert [p["seq"] for p in link.payloads("tap")] == [1, 1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"device": "NFC_1"}, "breaks"),
        ({"broker": "tcp://x"}, "mqtt://host:1883"),
        ({"broker": "mqtt://x:port"}, "port must be a number"),
        ({"wifi_ssid": ""}, "lacks 'wifi_ssid'"),
        ({"site_key": "zz" * 16}, "32 hex"),
        ({"reader": "acr122"}, "reader must be one of pn532, mfrc522"),
    ],
)
def test_config_errors_say_what_is_wrong(change: dict[str, str], message: str) -> None:
    from pletfri_fw import config

    good = {
        "device": DEV,
        "wifi_ssid": "w",
        "wifi_password": "p",
        "broker": "mqtt://10.0.0.5",
        "site_key": KEY.hex(),
    }
    assert config.parse(json.dumps(good))["port"] == 1883
    with pytest.raises(config.ConfigError, match=message):
        config.parse(json.dumps({**good, **change}))
    with pytest.raises(config.ConfigError, match="not valid JSON"):
        config.parse("{")


def test_sensor_config_from_the_platform_moves_the_next_wake_and_lasts() -> None:
    link = FakeLink()
    fs, rtc = MemFS(), MemRtc()
    s = make_sensor(OCC, link, fs=fs, rtc=rtc)
    s.resume(0)
    assert s.wake(0)
    link.deliver(contract.topic(OCC, "config"), {"send_s": 1800, "period_s": 60})
    s.poll(0)
    s.poll(1)
    link.ack()
    assert s.sleep(2) == 1_800_000 - 2
    s = make_sensor(OCC, link, fs=fs, rtc=rtc)  # the next wake starts afresh from RTC memory
    s.resume(1_800_000)
    assert s.wake(1_800_000) and s.state.next_send == 3_600_000
    assert s.state.period_s == 900  # not the platform's to change mid-period
