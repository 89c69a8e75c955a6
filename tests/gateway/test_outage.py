"""The morning after an outage, scaled down: 3 buildings of the demo's registry offline for
8 hours, then every device reconnects within a second and replays its flash queue while
live taps arrive; once with the broker restarted in the middle. Every queued point is
stored once (InfluxQL counts and sums against the queues' own), every live tap is
answered, and none of the night's taps is (their stations stopped waiting hours ago).
bench/outage_burst.py measures the same at full size.

Also: the replay sends what the firmware's own Uplink and MQTT client send.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from gwhelpers import wait_for
from paho.mqtt.enums import CallbackAPIVersion

from gateway.service import Gateway
from pletfri.influx import Influx
from pletfri.services import Stack
from pletfri.settings import Settings, load_settings
from pletfri_fw import contract
from pletfri_fw.mqtt_client import MQTTClient
from pletfri_host.sim import make_station
from sim.demo import site_key
from sim.registry import load as load_registry

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from outage_load import DeviceQueue, OfflineLink, Replay, build_queues, expected_points

pytestmark = pytest.mark.slow

SEED = 1
HOUR_MS = 3_600_000


Outage = Callable[[], list[DeviceQueue]]


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Outage]:
    """The registry's devices.csv, and what its devices queued if the network returned now
    (a tap's age decides whether the gateway answers it, so each test builds its own)."""
    reg = tmp_path_factory.mktemp("outage-registry")
    data, m = load_registry(reg / "r.sqlite", reg / "devices.csv", reg / "cards.csv", 3, SEED)

    def now() -> list[DeviceQueue]:
        t_on = int(time.time() * 1000)
        return build_queues(
            data, m, SEED, site_key(SEED), t_on - 8 * HOUR_MS, t_on, 3600, live_taps=20,
            live_seconds=2.0,
        )  # fmt: skip

    return reg / "devices.csv", now


def _settings(stack: Stack, tmp: Path, db: str, devices_csv: Path) -> Settings:
    Influx(load_settings(**stack.settings_overrides()).influx).query(f'CREATE DATABASE "{db}"')
    overrides = stack.settings_overrides()
    overrides["influx"]["database"] = db
    return load_settings(
        **overrides,
        gateway={
            "registry_file": devices_csv,
            "state_dir": tmp / "gateway",
            "client_id": f"gw-{db}",
            "batch_interval_s": 0.1,
        },
    )


def _stored(influx: Influx) -> dict[str, int]:
    out = {}
    for key, query in (
        ("periods", 'SELECT count("period_s"), sum("motion") FROM occupancy'),
        ("taps", 'SELECT count("seq"), sum("seq") FROM tap'),
        ("heartbeats", 'SELECT count("queue"), sum("queue") FROM device'),
    ):
        rows = influx.query(query)
        out[key], out[key + "_sum"] = (rows[0]["count"], rows[0]["sum"]) if rows else (0, 0)
    return out


def _check_stored(s: Settings, queues: list[DeviceQueue]) -> None:
    exp = expected_points(queues)
    want = {
        "periods": exp["periods"],
        "periods_sum": exp["motion_sum"],
        "taps": exp["taps"],
        "taps_sum": exp["tap_seq_sum"],
        "heartbeats": exp["heartbeats"],
        "heartbeats_sum": exp["queue_sum"],
    }
    with Influx(s.influx) as influx:
        wait_for(lambda: _stored(influx) == want, timeout=60, what=f"stored == {want}")
        time.sleep(0.5)  # nothing arrives late and twice
        assert _stored(influx) == want


def test_the_fleet_replays_its_outage_and_live_taps_are_answered(
    own_stack: Stack, tmp_path: Path, outage: tuple[Path, Outage]
) -> None:
    devices_csv, build = outage
    s = _settings(own_stack, tmp_path, "outage", devices_csv)
    gw = Gateway(s).start()
    try:
        assert gw.connected.wait(10)
        queues = build()
        # A heartbeat per device: the newest; the night's others were replaced on flash.
        assert sum(1 for q in queues if q.last and q.last[0] == "heartbeat") == len(queues)
        assert not any(ch == "heartbeat" for q in queues for ch, _ in q.queued)
        r = Replay(s.mqtt.port, queues, spread_s=1.0).run(timeout=90)
        assert r.acked_items == r.messages + len(r.live_latency)
        assert len(r.connacks) == len(queues) and not r.disconnects
        # Every live tap answered `ok`, once; none of the night's taps.
        assert all(x is not None for x in r.live_latency)
        live = {(device, seq) for device, seq, _ in r.live_sent}
        assert {(device, seq) for device, _, seq in r.acks} == live
        assert all(results == ["ok"] for results in r.acks.values()), r.acks
        _check_stored(s, queues)
        stats = gw.stats()
        assert stats["duplicates"] == 0 and stats["unsure"] == 0
        night = sum(1 for q in queues for ch, _ in q.queued if ch == contract.TAP)
        assert stats["acks_skipped"] == night and stats["acks"] == len(live)
    finally:
        gw.stop()


def test_a_broker_restart_in_the_middle_of_the_replay_loses_and_doubles_nothing(
    own_stack: Stack, tmp_path: Path, outage: tuple[Path, Outage]
) -> None:
    devices_csv, build = outage
    s = _settings(own_stack, tmp_path, "outagerestart", devices_csv)
    gw = Gateway(s).start()

    def restart() -> None:
        own_stack.mosquitto.stop()
        own_stack.mosquitto.start()

    timer = threading.Timer(0.6, restart)
    try:
        assert gw.connected.wait(10)
        queues = build()
        timer.start()
        r = Replay(s.mqtt.port, queues, spread_s=1.0).run(timeout=90, ack_grace_s=3.0)
        timer.join()
        assert r.disconnects > 0, "the restart came after the replay; make it earlier"
        assert r.acked_items == r.messages + len(r.live_latency)
        _check_stored(s, queues)
        # A tap sent again after the restart is answered `duplicate`, never `ok` twice.
        assert all(results.count("ok") <= 1 for results in r.acks.values())
    finally:
        timer.cancel()
        gw.stop()
        own_stack.mosquitto.start()


class _Recorder:
    def __init__(self, port: int, device: str) -> None:
        self.got: list[tuple[str, bytes, bool]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        # Live messages only: not what the broker kept retained from an earlier run.
        self.client.on_message = lambda c, u, m: (
            None if m.retain else self.got.append((m.topic, m.payload, m.retain))
        )
        ready = threading.Event()
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(contract.DEV_ROOT + device + "/+", qos=1)
        self.client.loop_start()
        assert ready.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_the_replay_sends_what_the_firmware_sends(stack: Stack) -> None:
    dev = "nfc-0000feed0001"
    st = make_station(dev, bytes(range(32)), OfflineLink(), settings={"heartbeat_s": 300})
    st.start(0)
    for t in range(0, 3 * HOUR_MS, 60_000):
        if t % 1_800_000 == 0:
            st.card_read(t.to_bytes(4, "big"), t)
        st.poll(t)
    store = st.uplink.store
    queued = [store.peek(i) for i in range(len(store))]
    q = DeviceQueue(dev, "station", store.boot, queued, last=store.last())
    assert len(q.queued) == 6 and q.last and q.last[0] == "heartbeat"
    port = stack.mosquitto.port

    firmware = _Recorder(port, dev)
    try:
        link = MQTTClient("127.0.0.1", port, dev, keepalive_s=10, timeout_s=2)
        up = st.uplink
        link.on_puback, link.on_message, up.link = up._puback, up._message, link
        # Past the backoff of the failed tries; the uplink alone, so no new heartbeat is due.
        later = 3 * HOUR_MS + 300_000
        deadline = time.monotonic() + 10
        while not up.idle() and time.monotonic() < deadline:
            up.poll(later)
            time.sleep(0.001)
        wait_for(lambda: len(firmware.got) >= len(q.queued) + 2, what="firmware's messages")
        up.close(later)
    finally:
        firmware.close()
    replay = _Recorder(port, dev)
    try:
        Replay(port, [q], spread_s=0.0).run(timeout=10, ack_grace_s=0.2)
        wait_for(lambda: len(replay.got) >= len(q.queued) + 2, what="replay's messages")
        got = list(replay.got)
    finally:
        # The broker is the session's: leave no retained status for other tests to see.
        replay.client.publish(
            f"{contract.DEV_ROOT}{dev}/{contract.STATUS}", b"", 1, True
        ).wait_for_publish(5)
        replay.close()
    # The retained `online` birth, the queue in order, the latest heartbeat; the
    # firmware's planned close adds its retained `offline`
    assert got == firmware.got[: len(got)]
    # (which may still be on its way when the recorder stops).
    status = f"{contract.DEV_ROOT}{dev}/{contract.STATUS}"
    assert firmware.got[len(got) :] in ([], [(status, b"offline", False)])
