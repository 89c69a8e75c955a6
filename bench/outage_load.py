"""The morning after an outage: what every device queued, and a fleet that replays it.

Two halves, for bench/outage_burst.py and tests/gateway/test_outage.py:

`build_queues` runs the real firmware logic (pletfri_fw's Station and Sensor, built by
pletfri_host.sim with their flash queue, `Store`, in memory) through the outage on
simulated time, with a link that is down: sensors wake every `send_s` and queue an
occupancy message of their closed periods (PIR counts from the simulator's usage model)
and a heartbeat; stations queue a heartbeat every `heartbeat_s` and the cleaners' taps;
everything within the flash queue's bounds (`queue_max`, 500 messages: past that the
oldest is dropped and counted). What a device will send is then read back from its
queue, byte for byte, with its latest-only heartbeat (`Store.last`). The live taps that
come during the replay are made the same way (`Station.card_read`), so their seq follows
the queue's.

`Replay` is the fleet coming back: one TCP connection per device, as each device has, in
one process with non-blocking sockets. Per device it sends what the firmware's `Uplink`
and `MQTTClient` send, encoded by the firmware's own packet codec
(pletfri_fw.mqtt_codec): CONNECT (MQTT 3.1.1, clean session, the retained `offline`
Will), then for a station the retained `online` birth, one SUBSCRIBE for its downlink channels,
and the queue in order, at most `WINDOW` (4) unacknowledged, each removed only on its
PUBACK, and the latest heartbeat once everything queued before it is on its way (a live
tap made before that goes ahead of it); after a lost connection the unacknowledged ones
are sent again once the device's own backoff (pletfri_fw.backoff, seeded by its id as on
the device) lets it reconnect. Incoming QoS 1 messages are acknowledged, and a tap's
`ack` is matched to the tap by (boot, seq). Running 11,319 firmware objects with a
blocking CONNACK wait each would cost this 2-core machine more CPU than the gateway
under test, so the replay does what they would do without their per-object overhead;
tests/gateway/test_outage.py checks that the bytes are the same as the firmware's own
Uplink sends.
"""

from __future__ import annotations

import contextlib
import errno
import json
import multiprocessing as mp
import random
import selectors
import socket
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.registry import RegistryData
from backend.registry.sample import card_uid
from pletfri_fw import contract
from pletfri_fw import mqtt_codec as codec
from pletfri_fw.backoff import Backoff
from pletfri_fw.store import Store
from pletfri_host.sim import make_sensor, make_station, pir_wakes
from sim.calendar import SimDay
from sim.usage import RoomUsage, UsageConfig
from sim.world import Municipality

# Uplink's default window: messages sent from the queue's head before their PUBACKs.
WINDOW = 4
KEEPALIVE_S = 60
# pletfri_fw.mqtt_client: the TCP connect and the CONNACK wait time out after 5 s.
CONNECT_TIMEOUT_S = 5.0
STEP_MS = 900_000
HOUR_MS = 3_600_000


class OfflineLink:
    """A device's link while the network is down: every connection attempt fails."""

    on_message = None
    on_puback = None

    def up(self) -> bool:
        return False

    def open(self, will_topic: str, will_payload: bytes, now_ms: int) -> None:
        raise OSError("network down")

    def close(self, clean: bool = True) -> None:
        pass


@dataclass(slots=True)
class DeviceQueue:
    device: str
    kind: str  # "station" or "sensor"
    boot: int
    # (channel, payload), oldest first: what the flash queue holds when the network returns.
    queued: list[tuple[str, bytes]]
    drops: int = 0
    # The latest-only heartbeat that waits to follow the queue (Store.last), if any.
    last: tuple[str, bytes] | None = None
    # (seconds after the network's return, payload): taps made while the replay runs.
    live: list[tuple[float, bytes]] = field(default_factory=list)

    def all_queued(self) -> list[tuple[str, bytes]]:
        return [*self.queued, self.last] if self.last else list(self.queued)


def expected_points(queues: list[DeviceQueue]) -> dict[str, int]:
    """Counts and sums InfluxDB must hold once everything is stored (each point once)."""
    out = {"taps": 0, "tap_seq_sum": 0, "periods": 0, "motion_sum": 0, "heartbeats": 0}
    out["queue_sum"] = 0
    for q in queues:
        for channel, payload in [*q.all_queued(), *(("tap", p) for _, p in q.live)]:
            msg = json.loads(payload)
            if channel == contract.TAP:
                out["taps"] += 1
                out["tap_seq_sum"] += msg["seq"]
            elif channel == contract.OCCUPANCY:
                out["periods"] += len(msg["periods"])
                out["motion_sum"] += sum(r.get("motion", 0) for r in msg["periods"])
            elif channel == contract.HEARTBEAT:
                out["heartbeats"] += 1
                out["queue_sum"] += msg["queue"]
    return out


def build_queues(
    data: RegistryData,
    m: Municipality,
    seed: int,
    site_key: bytes,
    t_off: int,
    t_on: int,
    station_heartbeat_s: int,
    sensor_send_s: int = 3600,
    taps_per_station: float = 2.0,
    live_taps: int = 0,
    live_seconds: float = 10.0,
) -> list[DeviceQueue]:
    """Every device's flash queue after the network was down from `t_off` to `t_on` (ms).

    Taps: a cleaner's visits to rooms with a station, in and out (two taps), spread
    over the outage, `taps_per_station` on average. `live_taps` more taps, on stations
    picked at random, come in the first `live_seconds` after the network's return.
    """
    rng = random.Random(seed)
    tz = datetime.now().astimezone().tzinfo
    kinds = {b.id: b.kind for b in m.buildings}
    uids = {b.id: [c.uid for c in b.cleaners] or [card_uid(seed, b.id)] for b in m.buildings}
    known = [u for us in uids.values() for u in us]
    out: list[DeviceQueue] = []
    stations = []
    for room in m.rooms():
        if room.sensor:
            out.append(
                _sensor_queue(room, kinds[room.building], seed, t_off, t_on, sensor_send_s, tz)
            )
        if room.station:
            st = make_station(
                room.station,
                site_key,
                OfflineLink(),
                settings={"heartbeat_s": station_heartbeat_s},
            )
            # Booted some time before the outage; its first heartbeats went out then.
            boot = t_off - rng.randrange(station_heartbeat_s * 1000)
            st.start(boot)
            events: list[int] = []
            visits = _poisson(rng, taps_per_station / 2)
            for _ in range(visits):
                t = rng.randrange(t_off, t_on - 1_200_000)
                events += [t, t + rng.randrange(120_000, 1_200_000)]
            uid = rng.choice(uids[room.building])
            st.poll(t_off)
            _sent(st.uplink.store)  # before the network went
            hb = station_heartbeat_s * 1000
            polls = list(range(t_off + hb - (t_off - boot) % hb, t_on, hb))
            for t, is_tap in sorted([(t, True) for t in events] + [(t, False) for t in polls]):
                if is_tap:
                    st.card_read(uid, t)
                st.poll(t)
            q = _queue(room.station, "station", st.uplink.store)
            out.append(q)
            stations.append((q, st, uid))
    for _ in range(live_taps):
        q, st, uid = rng.choice(stations)
        at = rng.uniform(0.0, live_seconds)
        # Another cleaner's card each time: the station's debounce drops the same card
        # within 3 s.
        before = len(st.uplink.store)
        st.card_read(known[len(q.live) * 7919 % len(known)], t_on + int(at * 1000))
        assert len(st.uplink.store) == before + 1
        q.live.append((at, st.uplink.store.peek(len(st.uplink.store) - 1)[1]))
    for q, _, _ in stations:
        q.live.sort()
    return out


def _poisson(rng: random.Random, mean: float) -> int:
    n, p, limit = 0, 1.0, pow(2.718281828, -mean)
    while True:
        p *= rng.random()
        if p < limit:
            return n
        n += 1


def _sensor_queue(
    room: Any, kind: str, seed: int, t_off: int, t_on: int, send_s: int, tz: Any
) -> DeviceQueue:
    dev = room.sensor
    sensor = make_sensor(
        dev, OfflineLink(), settings={"send_s": send_s}, health=lambda now: {"batt_mv": 2950}
    )
    usage = RoomUsage(room, kind, seed, UsageConfig())
    send_ms = send_s * 1000
    # Its last radio wake before the outage went through; the next ones find no network.
    first = t_off - send_ms + zlib.crc32(dev.encode()) % send_ms
    sensor.resume(first)
    sensor.wake(first)
    _sent(sensor.uplink.store)
    next_wake = first + sensor.sleep(first)
    step = t_off - t_off % STEP_MS
    while step < t_on:
        mid = step + STEP_MS // 2
        if next_wake < step + STEP_MS and next_wake < t_on:
            sensor.resume(next_wake)
            sensor.wake(next_wake)
            sensor.poll(next_wake)
            next_wake = next_wake + 2000 + sensor.sleep(next_wake + 2000)
        local = datetime.fromtimestamp(step / 1000, tz)
        n = usage.motion(local, STEP_MS // 1000, SimDay(local.date(), False))
        if n:
            pir_wakes(sensor, mid, min(n, 15))
        step += STEP_MS
    return _queue(dev, "sensor", sensor.uplink.store)


def _sent(store: Store) -> None:
    """Everything in the flash queue went out (PUBACKed)."""
    store.pop(len(store))
    store.clear_last(store.last_gen)


def _queue(device: str, kind: str, store: Store) -> DeviceQueue:
    queued = [store.peek(i) for i in range(len(store))]
    return DeviceQueue(device, kind, store.boot, queued, store.drops, store.last())


# ---- the replay


def _publish_parts(topic: str, payload: bytes, retain: bool = False) -> tuple[bytes, bytes]:
    """A QoS 1 PUBLISH as codec.publish makes it, split around its packet id."""
    whole = codec.publish(topic, payload, 1, retain, 0)
    head_len = len(whole) - len(payload) - 2
    return whole[:head_len], payload


# One message a device sends: [PUBLISH head before its packet id, payload, index of the
# live tap in ReplayResult.live_latency or -1 if queued, whether it is the latest-only one].
Item = list


class Device:
    __slots__ = (
        "backoff",
        "buf",
        "channels",
        "connect_at",
        "connecting",
        "connects",
        "head",
        "inflight",
        "items",
        "last_send",
        "next_try",
        "pid",
        "q",
        "queued_left",
        "sent_upto",
        "sock",
        "up",
    )

    def __init__(self, q: DeviceQueue) -> None:
        self.q = q
        self.sock: socket.socket | None = None
        self.buf = b""
        self.up = False
        self.connecting = False
        self.pid = 0
        topic = contract.topic
        self.items: list[Item] = [
            [*_publish_parts(topic(q.device, ch), p), -1, False] for ch, p in q.queued
        ]
        if q.last:
            self.items.append([*_publish_parts(topic(q.device, q.last[0]), q.last[1]), -1, True])
        self.queued_left = len(self.items)
        self.head = 0  # items before it were acknowledged (popped from the flash queue)
        self.inflight: list[list[int]] = []  # [pid, acked]
        # As pletfri_host.sim builds them: stations Backoff(1000, 120000), sensors (500, 4000).
        seed = zlib.crc32(q.device.encode())
        station = q.kind == "station"
        self.backoff = Backoff(1000, 120000, seed) if station else Backoff(500, 4000, seed)
        self.next_try = 0.0
        self.last_send = 0.0
        self.connects = 0
        self.connect_at = 0.0
        self.sent_upto = 0  # items below it were sent at least once
        self.channels = (
            (contract.ACK, contract.NEED, contract.CONFIG) if station else (contract.CONFIG,)
        )

    def next_pid(self) -> int:
        self.pid = self.pid % 65535 + 1
        return self.pid

    def unsent_last(self) -> int:
        """Where the latest-only message waits unsent in `items`, or -1."""
        for i in range(self.head + len(self.inflight), len(self.items)):
            if self.items[i][3]:
                return i
        return -1

    def add_live(self, item: Item) -> None:
        # Store.append: the tap joins the queue, which goes before a heartbeat not yet sent.
        i = self.unsent_last()
        if i >= 0:
            self.items.insert(i, item)
        else:
            self.items.append(item)

    def flying(self) -> tuple[int, bool]:
        """Queue messages in flight, and whether the latest-only one is."""
        last = any(self.items[self.head + i][3] for i in range(len(self.inflight)))
        return len(self.inflight) - last, last


@dataclass
class ReplayResult:
    devices: int = 0
    messages: int = 0
    t0: float = 0.0
    # Monotonic times: each CONNACK, the last queued message's PUBACK.
    connacks: list[float] = field(default_factory=list)
    t_last_puback: float = 0.0
    t_last_queued_puback: float = 0.0
    acked_items: int = 0
    resent: int = 0
    disconnects: int = 0
    refused: int = 0
    connect_timeouts: int = 0
    # Live taps whose ack has arrived (queued taps older than the gateway's ack_max_age_s
    # are stored without one: their stations stopped waiting long ago).
    live_answered: int = 0
    # (device, boot, seq) -> results of the acks that arrived for it.
    acks: dict[tuple[str, int, int], list[str]] = field(default_factory=dict)
    # Live taps: seconds from the tap to its ack (None: no ack by the end), and from the
    # moment the device sent it (after what was queued before it) to its ack.
    live_latency: list[float | None] = field(default_factory=list)
    live_from_send: list[float | None] = field(default_factory=list)
    # Per live tap: whether its station was connected when it was made, so it showed
    # "pending" and a cleaner waits for the ack (else amber at once: stored, sent later).
    live_waited: list[bool] = field(default_factory=list)
    # (device, seq, sent at) of each live tap, monotonic.
    live_sent: list[tuple[str, int, float]] = field(default_factory=list)
    # (device, seq) of a live tap -> when its station read the first ack, monotonic.
    live_acked: dict[tuple[str, int], float] = field(default_factory=dict)
    cpu_s: float = 0.0
    # The longest the replay took to handle one batch of ready sockets.
    loop_max_s: float = 0.0


class Replay:
    """The fleet reconnecting: each device connects at its time in [0, `spread_s`)."""

    def __init__(
        self, port: int, queues: list[DeviceQueue], spread_s: float, seed: int = 1
    ) -> None:
        self.port = port
        self.devices = [Device(q) for q in queues]
        rng = random.Random(seed)
        self.start_at = sorted(
            ((rng.uniform(0.0, spread_s), d) for d in self.devices), key=lambda x: x[0]
        )
        self.sel = selectors.DefaultSelector()
        self.result = ReplayResult(
            devices=len(self.devices), messages=sum(len(d.items) for d in self.devices)
        )
        self.live = sorted(
            ((at, d, p) for d in self.devices for at, p in d.q.live), key=lambda x: x[0]
        )
        self._live_sent: dict[tuple[str, int], tuple[float, int]] = {}
        self._live_send_at: dict[int, float] = {}
        # Devices waiting for their backoff after a lost connection (a broker restart).
        self._down: list[Device] = []
        # Devices between their TCP connect and their CONNACK.
        self._opening: list[Device] = []
        self._left = self.result.messages + len(self.live)

    def run(
        self, timeout: float, t0: float | None = None, ack_grace_s: float = 10.0
    ) -> ReplayResult:
        """Until every queued and live message is acknowledged and every live tap answered, or
        `ack_grace_s` after the last PUBACK (an `ack` published while its station was
        reconnecting is lost: the station's session is clean, as on the device)."""
        r = self.result
        cpu0 = time.process_time()
        r.t0 = t0 or time.monotonic()
        starts, lives = 0, 0
        next_ping = r.t0 + 5.0
        next_check = r.t0 + 0.5
        while True:
            now = time.monotonic()
            el = now - r.t0
            while starts < len(self.start_at) and self.start_at[starts][0] <= el:
                dev = self.start_at[starts][1]
                dev.next_try = now
                self._connect(dev, now)
                starts += 1
            while lives < len(self.live) and self.live[lives][0] <= el:
                _, dev, payload = self.live[lives]
                head = _publish_parts(contract.topic(dev.q.device, "tap"), payload)
                dev.add_live([*head, len(r.live_latency), False])
                msg = json.loads(payload)
                self._live_sent[(dev.q.device, msg["seq"])] = (now, len(r.live_latency))
                r.live_latency.append(None)
                r.live_from_send.append(None)
                r.live_waited.append(dev.up)
                if dev.up:
                    self._pump(dev, now)
                lives += 1
            ready = self.sel.select(0.005)
            t_events = time.monotonic()
            for key, events in ready:
                self._event(key.data, events, time.monotonic())
            # How late this process can be to read what arrived: one real device has a
            # CPU of its own, the replay shares one among all of them.
            r.loop_max_s = max(r.loop_max_s, time.monotonic() - t_events)
            if now >= next_ping:
                next_ping = now + 5.0
                for d in self.devices:
                    if d.up and now - d.last_send > KEEPALIVE_S / 2:
                        self._send(d, codec.pingreq(), now)
            if now >= next_check:
                next_check = now + 0.5
                self._timeouts(now)
            self._retry(now)
            done = starts == len(self.start_at) and lives == len(self.live) and not self._left
            answered = r.live_answered >= len(self.live)
            grace_over = done and now - r.t_last_puback > ack_grace_s
            if (done and (answered or grace_over)) or now - r.t0 > timeout:
                break
        r.cpu_s = time.process_time() - cpu0
        for d in self.devices:
            if d.sock is not None:
                with contextlib.suppress(OSError):
                    d.sock.sendall(codec.disconnect())
                d.sock.close()
        return r

    def _timeouts(self, now: float) -> None:
        """A connect or CONNACK that took over 5 s: the device gives up and backs off."""
        opening, self._opening = self._opening, []
        for d in opening:
            if d.up or d.sock is None:
                continue
            if now - d.connect_at > CONNECT_TIMEOUT_S:
                self.result.connect_timeouts += 1
                self._lost(d, now)
            else:
                self._opening.append(d)

    def _retry(self, now: float) -> None:
        if not self._down:
            return
        due = [d for d in self._down if now >= d.next_try]
        if due:
            self._down = [d for d in self._down if now < d.next_try]
            for d in due:
                self._connect(d, now)

    def _connect(self, d: Device, now: float) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rc = s.connect_ex(("127.0.0.1", self.port))
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            self._lost(d, now)
            return
        d.sock, d.buf, d.up, d.connecting = s, b"", False, True
        d.connect_at = now
        self.sel.register(s, selectors.EVENT_WRITE, d)
        self._opening.append(d)

    def _lost(self, d: Device, now: float) -> None:
        if d.sock is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(d.sock)
            d.sock.close()
        if d.up:
            self.result.disconnects += 1
        d.sock, d.up, d.connecting = None, False, False
        # Uplink._down: what was in flight goes again after the reconnect.
        d.inflight = []
        d.next_try = now + d.backoff.next_ms() / 1000
        self._down.append(d)

    def _send(self, d: Device, data: bytes, now: float) -> bool:
        try:
            assert d.sock is not None
            d.sock.sendall(data)
        except OSError:
            self._lost(d, now)
            return False
        d.last_send = now
        return True

    def _event(self, d: Device, events: int, now: float) -> None:
        s = d.sock
        if s is None:
            return
        if d.connecting:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self._lost(d, now)
                return
            d.connecting = False
            self.sel.modify(s, selectors.EVENT_READ, d)
            status = contract.topic(d.q.device, contract.STATUS)
            will = contract.STATUS_OFFLINE.encode()
            self._send(d, codec.connect(d.q.device, KEEPALIVE_S, True, status, will, True, 1), now)
            return
        try:
            data = s.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            self._lost(d, now)
            return
        if not data:
            self._lost(d, now)
            return
        d.buf += data
        while d.sock is not None:
            pkt = codec.parse(d.buf)
            if pkt is None:
                break
            kind, flags, body, used = pkt
            d.buf = d.buf[used:]
            if kind == codec.CONNACK:
                self._connack(d, body, now)
            elif kind == codec.PUBACK:
                self._puback(d, codec.packet_id(body), now)
            elif kind == codec.PUBLISH:
                topic, payload, qos, pid, _ = codec.parse_publish(flags, body)
                if qos == 1:
                    self._send(d, codec.puback(pid), now)
                if topic.endswith("/" + contract.ACK):
                    self._ack(d, payload, now)

    def _connack(self, d: Device, body: bytes, now: float) -> None:
        if codec.connack_code(body):
            self.result.refused += 1
            self._lost(d, now)
            return
        self.result.connacks.append(now)
        d.up = True
        d.connects += 1
        d.backoff.reset()
        d.inflight = []
        out = []
        if d.q.kind == "station":
            # Uplink._connected: the retained birth, then one SUBSCRIBE for every channel.
            status = contract.topic(d.q.device, contract.STATUS)
            out.append(codec.publish(status, b"online", 1, True, d.next_pid()))
        topics = [(contract.topic(d.q.device, ch), 1) for ch in d.channels]
        out.append(codec.subscribe(d.next_pid(), topics))
        if self._send(d, b"".join(out), now):
            self._pump(d, now)

    def _pump(self, d: Device, now: float) -> None:
        out = []
        queue_flying, _ = d.flying()
        while queue_flying < WINDOW and d.head + len(d.inflight) < len(d.items):
            i = d.head + len(d.inflight)
            head, payload, live, is_last = d.items[i]
            if is_last and i + 1 < len(d.items):
                # Sent before a tap joined, then lost with the connection: Uplink sends the
                # queue again first.
                d.items.append(d.items.pop(i))
                continue
            pid = d.next_pid()
            if i < d.sent_upto:
                self.result.resent += 1
            d.sent_upto = max(d.sent_upto, i + 1)
            queue_flying += not is_last
            if live >= 0:
                self._live_send_at[live] = now
                seq = json.loads(payload)["seq"]
                self.result.live_sent.append((d.q.device, seq, now))
            out.append(head + pid.to_bytes(2, "big") + payload)
            d.inflight.append([pid, 0])
        if out:
            self._send(d, b"".join(out), now)

    def _puback(self, d: Device, pid: int, now: float) -> None:
        for e in d.inflight:
            if e[0] == pid:
                e[1] = 1
                break
        else:
            return  # the birth's
        n = 0
        while n < len(d.inflight) and d.inflight[n][1]:
            n += 1
        if n:
            del d.inflight[:n]
            d.queued_left -= sum(1 for it in d.items[d.head : d.head + n] if it[2] < 0)
            if d.queued_left == 0 and any(it[2] < 0 for it in d.items[d.head : d.head + n]):
                self.result.t_last_queued_puback = now
            d.head += n
            self._left -= n
            self.result.acked_items += n
            self.result.t_last_puback = now
            self._pump(d, now)

    def _ack(self, d: Device, payload: bytes, now: float) -> None:
        msg = json.loads(payload)
        key = (d.q.device, msg["boot"], msg["seq"])
        results = self.result.acks.setdefault(key, [])
        results.append(msg["result"])
        sent = self._live_sent.get((d.q.device, msg["seq"]))
        if sent is not None and self.result.live_latency[sent[1]] is None:
            self.result.live_answered += 1
            self.result.live_acked[(d.q.device, msg["seq"])] = now
            self.result.live_latency[sent[1]] = now - sent[0]
            self.result.live_from_send[sent[1]] = now - self._live_send_at[sent[1]]


def _replay_process(
    port: int, queues: list[DeviceQueue], spread_s: float, timeout: float, out: mp.Queue
) -> None:
    # Acks come once the gateway has stored the tap, which after a burst can be long after
    # the broker took the last message.
    out.put(Replay(port, queues, spread_s).run(timeout, ack_grace_s=90.0))


def start_replay(
    port: int, queues: list[DeviceQueue], spread_s: float, timeout: float
) -> tuple[Any, mp.Queue]:
    """The replay in a process of its own (forked: the queues are not pickled over)."""
    q: mp.Queue = mp.get_context("fork").Queue()
    p = mp.get_context("fork").Process(
        target=_replay_process, args=(port, queues, spread_s, timeout, q), daemon=True
    )
    p.start()
    return p, q
