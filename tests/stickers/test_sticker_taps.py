"""Sticker taps end to end on real servers: StickerTaps -> Mosquitto -> gateway -> InfluxDB.

A tag is emulated with its real keys (derived from the master key), so each URL is what
the NTAG 424 DNA would mirror; the gateway is the real one, reading the registry export.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from backend.registry import Building, Card, Device, Person, RegistryData, Room
from backend.service import Backend
from backend.stickers import PARAM_CMAC, PARAM_PICC, StickerTaps, keys, sun
from gateway.service import Gateway
from pletfri.influx import Influx
from pletfri.services import Stack, running_stack
from pletfri.settings import Settings, load_settings
from pletfri_fw import contract

MASTER = "000102030405060708090a0b0c0d0e0f"
UID = bytes.fromhex("04a1b2c3d4e5f6")
TAG = f"tag-{UID.hex()}"
STRANGER_UID = bytes.fromhex("04ffffffffff01")
CARD = "c1c1c1c1c1c1c1c1"
NOW = 1_795_000_000_000


def registry() -> RegistryData:
    return RegistryData(
        buildings=[Building(id="s", name="Bakkehøj Skole", kind="school")],
        rooms=[
            Room(id="s-wc", building="s", name="Toilet ved hal", type="toilet", area_m2=12),
            Room(id="s-class", building="s", type="classroom", area_m2=60),
        ],
        devices=[
            Device(id=TAG, kind="sticker", room="s-wc"),
            Device(id="nfc-000000000001", kind="station", room="s-class"),
        ],
        people=[Person(id="p1", role="cleaner", building="s"), Person(id="p2", role="cleaner")],
        cards=[Card(card=CARD, person="p1")],
    )


def url(counter: int, uid: bytes = UID) -> dict[str, str]:
    master = bytes.fromhex(MASTER)
    picc, cmac = sun.emulate(
        keys.meta_read_key(master), keys.file_read_key(master, uid), uid, counter
    )
    return {PARAM_PICC: picc, PARAM_CMAC: cmac}


def with_stickers(s: Settings) -> Settings:
    s.stickers.master_key = MASTER
    s.stickers.client_id = f"stickers-{s.influx.database}"
    s.gateway.batch_interval_s = 0.1
    # The taps are dated at a fixed NOW, weeks ago by the gateway's clock: answer them all
    # the same (tests/gateway covers taps too old to answer).
    s.gateway.ack_max_age_s = 10**9
    return s


class Parts:
    def __init__(self, s: Settings) -> None:
        self.backend = Backend(s)
        self.backend.registry.replace(registry())
        self.backend.export_gateway_files()
        self.gateway = Gateway(s).start()
        assert self.gateway.connected.wait(10)
        self.taps = StickerTaps(s, self.backend.registry)
        assert self.taps.wait_connected(10)

    def close(self) -> None:
        self.taps.close()
        self.gateway.stop()
        self.backend.close()


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Servers of its own, for the test that stops the broker."""
    with running_stack(tmp_path_factory.mktemp("sticker-stack")) as s:
        yield s


@pytest.fixture
def parts(settings: Settings) -> Iterator[Parts]:
    p = Parts(with_stickers(settings))
    yield p
    p.close()


def publish_need(s: Settings, device: str, need: str | bytes) -> None:
    if isinstance(need, str):
        need = json.dumps(contract.need_payload(need, 2.0, None)).encode()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.connect(s.mqtt.host, s.mqtt.port)
    c.loop_start()
    c.publish(contract.topic(device, contract.NEED), need, qos=1, retain=True).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


def stored_taps(influx: Influx) -> list[dict[str, object]]:
    return influx.query(f"SELECT * FROM \"tap\" WHERE device = '{TAG}'")


def wait_for_taps(influx: Influx, n: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 10
    while len(rows := stored_taps(influx)) < n:
        if time.monotonic() > deadline:
            raise AssertionError(f"{n} sticker taps not stored within 10 s: {rows}")
        time.sleep(0.05)
    return rows


def test_a_tap_is_recorded_with_the_rooms_need_and_pairs_into_a_visit(
    parts: Parts, settings: Settings, influx: Influx
) -> None:
    publish_need(settings, TAG, "skip")
    try:
        time.sleep(0.3)  # the gateway takes the retained need
        first = parts.taps.tap(url(5), "p1", NOW)
        assert (first.result, first.need, first.message) == ("ok", "skip", "sticker.ok.skip")
        assert (first.building, first.room, first.room_name) == ("s", "s-wc", "Toilet ved hal")
        assert first.device == TAG and first.counter == 5 and first.recorded
        second = parts.taps.tap(url(6), "p1", NOW + 9 * 60_000)
        assert second.result == "ok"
        rows = wait_for_taps(influx, 2)
        assert [(r["building"], r["room"], r["card"], r["seq"]) for r in rows] == [
            ("s", "s-wc", CARD, 5),
            ("s", "s-wc", CARD, 6),
        ]
        visits = parts.backend.pair_visits(NOW + 3600_000, since_ms=NOW - 60_000)
        assert [(v.room, v.card, v.duration_s) for v in visits] == [("s-wc", CARD, 540)]
    finally:
        publish_need(settings, TAG, b"")


def test_forged_replayed_truncated_and_unknown_urls_are_refused(
    parts: Parts, influx: Influx
) -> None:
    assert parts.taps.tap(url(10), "p1", NOW).result == "ok"
    replay = parts.taps.tap(url(10), "p1", NOW + 1000)
    assert (replay.result, replay.room, replay.message) == ("replayed", "s-wc", "sticker.replayed")
    assert "last accepted 10" in replay.detail
    assert parts.taps.tap(url(9), "p1", NOW + 2000).result == "replayed"
    good = url(11)
    forged = {**good, PARAM_CMAC: "0" * 16}
    outcome = parts.taps.tap(forged, "p1", NOW + 3000)
    assert (outcome.result, outcome.room, outcome.need) == ("forged", None, "unknown")
    # The forged attempt did not use up counter 11: the real tap still counts.
    assert parts.taps.tap(good, "p1", NOW + 4000).result == "ok"
    truncated = {PARAM_PICC: good[PARAM_PICC][:20], PARAM_CMAC: good[PARAM_CMAC]}
    assert parts.taps.tap(truncated, "p1", NOW).result == "malformed"
    assert parts.taps.tap({}, "p1", NOW).result == "malformed"
    assert parts.taps.tap({PARAM_PICC: "x" * 32, PARAM_CMAC: "y" * 16}, "p1", NOW).result == (
        "malformed"
    )
    stranger = parts.taps.tap(url(1, STRANGER_UID), "p1", NOW)
    assert (stranger.result, stranger.device) == ("unknown_tag", f"tag-{STRANGER_UID.hex()}")
    nocard = parts.taps.tap(url(12), "p2", NOW)
    assert (nocard.result, nocard.room) == ("unknown_card", "s-wc")
    # p2's refused tap did not use up counter 12 either.
    assert parts.taps.tap(url(12), "p1", NOW + 5000).result == "ok"
    assert [r["seq"] for r in wait_for_taps(influx, 3)] == [10, 11, 12]
    assert parts.taps.counts["ok"] == 3 and parts.taps.counts["replayed"] == 2


def test_the_replay_guard_survives_a_registry_replace(parts: Parts) -> None:
    assert parts.taps.tap(url(20), "p1", NOW).result == "ok"
    parts.backend.registry.replace(registry())
    assert parts.taps.tap(url(20), "p1", NOW).result == "replayed"


def test_without_a_master_key_the_error_says_what_to_set(settings: Settings) -> None:
    with Backend(settings) as be, pytest.raises(keys.MasterKeyError, match=r"stickers\.master_key"):
        StickerTaps(settings, be.registry)


@pytest.mark.slow
def test_broker_down_stores_the_tap_and_sends_it_later(own_stack: Stack, tmp_path: Path) -> None:
    overrides = own_stack.settings_overrides()
    overrides["influx"]["database"] = "stickeroffline"
    s = with_stickers(
        load_settings(
            **overrides,
            gateway={"registry_file": tmp_path / "devices.csv", "state_dir": tmp_path / "gw",
                     "client_id": "gw-stickeroffline"},
            backend={"database_file": tmp_path / "registry.sqlite"},
        )
    )  # fmt: skip
    with Influx(s.influx) as influx:
        influx.query('CREATE DATABASE "stickeroffline"')
        p = Parts(s)
        try:
            assert p.taps.tap(url(1), "p1", NOW).result == "ok"
            own_stack.mosquitto.stop()
            offline = p.taps.tap(url(2), "p1", NOW + 60_000)
            assert (offline.result, offline.room, offline.message) == (
                "stored_offline", "s-wc", "sticker.stored_offline",
            )  # fmt: skip
            assert p.taps.pending() == 1
            # The same URL again is still a replay, broker or not.
            assert p.taps.tap(url(2), "p1", NOW + 61_000).result == "replayed"
            own_stack.mosquitto.start()
            # Sent on reconnection, without another tap or a flush.
            deadline = time.monotonic() + 20
            while p.taps.pending():
                assert time.monotonic() < deadline, "the outbox was not sent"
                time.sleep(0.1)
            assert p.taps.published == 2
            rows = wait_for_taps(influx, 2)
            # Stored at the time of the tap, not of the sending.
            assert [(r["seq"], r["card"]) for r in rows] == [(1, CARD), (2, CARD)]
            assert influx.query(
                f"SELECT card FROM \"tap\" WHERE seq = 2 AND time = {NOW + 60_000}ms"
            )
        finally:
            p.close()
            own_stack.mosquitto.start()


def test_the_gateway_takes_only_taps_for_a_sticker(parts: Parts, settings: Settings) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.connect(settings.mqtt.host, settings.mqtt.port)
    c.loop_start()
    try:
        rec = contract.period_record(900, motion=3)
        payload = json.dumps(contract.occupancy_payload(1, 1, [rec]))
        c.publish(contract.topic(TAG, contract.OCCUPANCY), payload, qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 10
        while not parts.gateway.stats()["rejected"].get("wrong_kind"):
            assert time.monotonic() < deadline, parts.gateway.stats()["rejected"]
            time.sleep(0.05)
    finally:
        c.disconnect()
        c.loop_stop()


def test_the_backend_publishes_the_need_to_stickers_too(
    parts: Parts, settings: Settings
) -> None:
    found = parts.backend.publish_need(NOW)
    try:
        deadline = time.monotonic() + 10
        while TAG not in parts.gateway.need:
            assert time.monotonic() < deadline, "the gateway got no need for the sticker"
            time.sleep(0.05)
        outcome = parts.taps.tap(url(30), "p1", NOW)
        expected = "clean" if found["s-wc"].due else "skip"
        assert (outcome.result, outcome.need) == ("ok", expected)
    finally:
        publish_need(settings, TAG, b"")
        publish_need(settings, "nfc-000000000001", b"")
