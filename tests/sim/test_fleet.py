"""The fleet on the real broker: every message it sends is one the gateway accepts."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateway.validate import parse
from pletfri.settings import Settings
from pletfri_fw import contract
from sim.calendar import Calendar, school_week
from sim.cleaning import PlannedRoom, work_shift
from sim.faults import plant
from sim.fleet import Fleet
from sim.link import Pool
from sim.usage import RoomUsage, UsageConfig
from sim.world import Municipality

TZ = ZoneInfo("Europe/Copenhagen")


def test_one_day_of_the_fleet_reaches_the_broker_valid_and_paced(
    settings: Settings, small: Municipality
) -> None:
    got: list[tuple[str, bytes]] = []
    lock = threading.Lock()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fleet-test-sub", protocol=mqtt.MQTTv5)
    ready = threading.Event()
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe(contract.subscription(), qos=1)
    sub.on_subscribe = lambda *a: ready.set()

    def on_message(c: mqtt.Client, u: object, m: mqtt.MQTTMessage) -> None:
        with lock:
            got.append((m.topic, m.payload))

    sub.on_message = on_message
    sub.connect(settings.mqtt.host, settings.mqtt.port)
    sub.loop_start()
    assert ready.wait(5)

    cal = school_week(date(2026, 11, 28), 1, TZ)
    faults = plant(small, cal, 3)
    pool = Pool(settings.mqtt, connections=2, rate=3000, client_prefix="fleet-test")
    pool.start()
    fleet = Fleet(small, cal, faults, pool, seed=3, site_key=b"k")
    t = int(cal.start.timestamp() * 1000)
    end = int(cal.end.timestamp() * 1000)
    fleet.start(t)
    by_b = {}
    for b in small.buildings:
        start = cal.start + timedelta(hours=15)
        taps, _ = work_shift(b, [PlannedRoom(r, 20) for r in b.rooms], start, 3)
        by_b[b.id] = taps
    offline = faults.offline_station(by_b)
    fleet.add_taps([tp for taps in by_b.values() for tp in taps], offline)
    started = time.monotonic()
    while t < end:
        fleet.step(t, t + 900_000)
        t += 900_000
    fleet.finish(end)
    pool.flush()
    elapsed = time.monotonic() - started
    time.sleep(0.5)
    sub.loop_stop()
    sub.disconnect()
    pool.stop()

    assert pool.published == pool.acked == len(got)
    # Paced: the rate was respected (with the bucket's initial burst of rate/10).
    assert elapsed >= (pool.published - 300) / 3000
    now = end + 60_000
    channels: dict[str, int] = {}
    for topic, payload in got:
        msg = parse(topic, payload, now)
        channels[msg.channel] = channels.get(msg.channel, 0) + 1
        assert msg.channel == contract.STATUS or msg.clock_ok
    rooms = len(small.rooms())
    # Every live sensor sends once an hour; the dead one stops at 09:00.
    assert rooms * 23 <= channels["occupancy"] <= rooms * 25
    assert channels["tap"] > 10
    statuses = [(t, p) for t, p in got if t.endswith("/status")]
    assert offline is not None
    mine = [p for t, p in statuses if f"/{offline}/" in t]
    # Each station's birth; the offline one's Last Will and its birth when it is back.
    assert mine == [b"online", b"offline", b"online"], mine
    assert len(statuses) == len(fleet.stations) + 2
    _motion_is_the_usage_models(small, cal, faults.dead_sensor, got)


def _motion_is_the_usage_models(
    m: Municipality, cal: Calendar, dead: str, got: list[tuple[str, bytes]]
) -> None:
    """Every period a sensor sent counts what the usage model drew for it (busy minutes,
    through the PIR's hold-off), whether the sensor slept or was awake at the time."""
    busy: dict[str, list[tuple[int, int]]] = {}
    kinds = {b.id: b.kind for b in m.buildings}
    start, end = int(cal.start.timestamp() * 1000), int(cal.end.timestamp() * 1000)
    for room in m.rooms():
        if room.sensor is None or room.sensor == dead:
            continue
        usage = RoomUsage(room, kinds[room.building], 3, UsageConfig())
        mids = busy[room.sensor] = []
        for t in range(start, end, 900_000):
            day = cal.day_of(t)
            n = usage.motion(cal.local(t), 900, day) if day else 0
            mids.append((t + 450_000, min(n, 15)))
    compared = 0
    for topic, payload in got:
        device, channel = contract.parse_topic(topic) or ("", "")
        if channel != contract.OCCUPANCY or device not in busy:
            continue
        for p in json.loads(payload)["periods"]:
            ends = p["ts"]
            want = sum(n for mid, n in busy[device] if ends - 900_000 <= mid < ends)
            assert p.get("motion", 0) == want, (device, ends)
            compared += 1
    assert compared > 20 * len(busy)
