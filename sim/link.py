"""Simulated devices over real MQTT connections, paced so the broker keeps up.

With `logins` (device id -> password) every device has a connection of its own and logs
in as itself, as on the wall: the broker's ACL then holds each one to its own topics.
Without, devices share a few connections (picked by a hash of the device id, so a
device's messages stay in order), for a broker without logins or for the load
generators' `simulator` account.

Publishing is paced by a token bucket: an unpaced QoS 1 flood makes Mosquitto collapse
(shared/research/baselines.md). The clients have no network threads: `publish` writes to
the socket at once and `pump()` asks one selector which sockets have something to read,
reads those, and hands broker acknowledgements and downlink messages to the devices, all
in the caller's thread. Network threads fighting the fleet for the interpreter lock cost
more than the fleet itself, and thousands of them would not fit at all; the firmware
logic stays single-threaded, as on the device.

The connections carry no Last Will (they outlive a simulated device's radio going off the
air): the fleet publishes the retained `offline` status itself when it takes a device off
the air, as the broker would have done.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import selectors
import ssl
import time
import zlib
from collections.abc import Callable, Iterator, Mapping

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pletfri.settings import MqttSettings
from pletfri_fw import contract

log = logging.getLogger(__name__)

Acked = Callable[[], None]
Incoming = Callable[[str, str, bytes], None]  # device, channel, payload

# CONNECTs waiting for their CONNACK at once: a burst of thousands overflows Mosquitto's
# listen backlog, and each dropped SYN costs the kernel's one-second retry.
CONNECT_WINDOW = 64
# Real seconds between keepalive checks of every connection.
MISC_INTERVAL_S = 2.0
# select() cannot watch a descriptor from 1024 up, and paho's own network loop (the
# backend's need publisher, in the demo's process) uses it: the pool keeps below this.
SELECT_LIMIT = 1024


@contextlib.contextmanager
def _above_select_limit() -> Iterator[None]:
    """Sockets made inside get descriptors >= SELECT_LIMIT: the free ones below are held
    meanwhile (the kernel hands out the lowest free one) and released afterwards."""
    held = []
    try:
        while True:
            fd = os.open(os.devnull, os.O_RDONLY)
            if fd >= SELECT_LIMIT:
                os.close(fd)
                break
            held.append(fd)
        yield
    finally:
        for fd in held:
            os.close(fd)


class LinkError(Exception):
    pass


class Pool:
    def __init__(
        self,
        settings: MqttSettings,
        connections: int,
        rate: float,
        max_inflight: int = 2000,
        client_prefix: str = "pletfri-sim",
        logins: Mapping[str, str] | None = None,
    ) -> None:
        self.rate = rate
        self.published = 0
        self.acked = 0
        # Messages by channel, and the occupancy period records inside them.
        self.sent: collections.Counter[str] = collections.Counter()
        self.periods = 0
        self._tokens = 0.0
        self._last = time.monotonic()
        self._pending: dict[tuple[int, int], Acked | None] = {}
        self._acks: collections.deque[tuple[int, int]] = collections.deque()
        self._inbox: collections.deque[tuple[str, bytes]] = collections.deque()
        self._settings = settings
        self.on_message: Incoming | None = None
        self._channels: tuple[str, ...] = ()
        self._refused: list[str] = []
        self._up: set[int] = set()
        self._selector = selectors.DefaultSelector()
        self._misc_at = 0.0
        # Clients whose last publish did not fit into the socket at once.
        self._dirty: set[int] = set()
        # Unacknowledged messages of the whole pool, however many connections carry them.
        self.max_inflight = max_inflight * connections
        self.own = logins is not None
        if logins is not None:
            devices = sorted(logins)
            self._by_device = {d: i for i, d in enumerate(devices)}
            self.clients = [self._client(i, d, d, logins[d]) for i, d in enumerate(devices)]
        else:
            self._by_device = {}
            self.clients = [
                self._client(i, f"{client_prefix}-{i}", settings.username, settings.password)
                for i in range(connections)
            ]
        # A device has a few messages in flight at most; a shared connection, thousands.
        per_client = max_inflight if logins is None else 100
        for c in self.clients:
            c.max_inflight_messages_set(per_client)

    def _client(
        self, i: int, client_id: str, user: str | None, password: str | None
    ) -> mqtt.Client:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if user:
            c.username_pw_set(user, password)
        if self._settings.tls:
            ca = self._settings.ca_file
            c.tls_set(ca_certs=str(ca) if ca else None)

        def on_connect(client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
            if reason_code.is_failure:
                self._refused.append(f"{client_id}: {reason_code}")
                return
            if self._channels:
                if self.own:
                    subs = [(contract.topic(client_id, ch), 1) for ch in self._channels]
                else:
                    subs = [(contract.subscription(ch), 1) for ch in self._channels]
                client.subscribe(subs)
            self._up.add(i)

        c.on_connect = on_connect
        # Only queue here: the work happens in pump(), outside paho's locks.
        c.on_publish = lambda client, u, mid, rc, p: self._acks.append((i, mid))
        c.on_message = lambda client, u, m: self._inbox.append((m.topic, m.payload))
        return c

    def subscribe(self, channels: tuple[str, ...]) -> None:
        """Receive these downlink channels for every device (before `start`)."""
        self._channels = channels

    def start(self, timeout: float = 60.0) -> None:
        with _above_select_limit() if self.own else contextlib.nullcontext():
            self._connect_all(time.monotonic() + timeout)
        log.info("%d simulator connections up", len(self.clients))

    def _connect_all(self, deadline: float) -> None:
        s = self._settings
        for i, c in enumerate(self.clients):
            while i - len(self._up) >= CONNECT_WINDOW:
                self._wait_connacks(deadline)
            try:
                c.connect(s.host, s.port, s.keepalive_s)
            except (OSError, ssl.SSLError) as e:
                raise LinkError(
                    f"simulator cannot connect to {s.host}:{s.port}: {e}; is the broker running"
                    f"{' with TLS and this CA' if s.tls else ''}?"
                ) from None
            self._selector.register(c.socket(), selectors.EVENT_READ, c)
        while len(self._up) < len(self.clients):
            self._wait_connacks(deadline)

    def _wait_connacks(self, deadline: float) -> None:
        if self._refused:
            raise LinkError(
                f"the broker refused {len(self._refused)} simulator logins, e.g. "
                f"{self._refused[0]}; are the broker's password file and ACL this run's?"
            )
        if time.monotonic() > deadline:
            s = self._settings
            raise LinkError(
                f"{len(self.clients) - len(self._up)} simulator connections to "
                f"{s.host}:{s.port} not up in time; is the broker running?"
            )
        self._read(0.01)

    def stop(self) -> None:
        for c in self.clients:
            c.disconnect()
        self._selector.close()

    def _index(self, device: str) -> int:
        if self.own:
            try:
                return self._by_device[device]
            except KeyError:
                raise LinkError(f"{device} has no login in this simulator run") from None
        return zlib.crc32(device.encode()) % len(self.clients)

    def _pace(self) -> None:
        while True:
            now = time.monotonic()
            self._tokens = min(self.rate / 10, self._tokens + (now - self._last) * self.rate)
            self._last = now
            inflight = self.published - self.acked
            if self._tokens >= 1 and inflight < self.max_inflight:
                self._tokens -= 1
                return
            self.pump()
            time.sleep(0.002)

    def publish(
        self,
        device: str,
        channel: str,
        payload: bytes | str,
        qos: int = 1,
        retain: bool = False,
        on_acked: Acked | None = None,
    ) -> None:
        """Send one device's message; `on_acked` runs in `pump()` once the broker has it."""
        self._pace()
        i = self._index(device)
        c = self.clients[i]
        info = c.publish(contract.topic(device, channel), payload, qos, retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise LinkError(f"{device}: cannot publish: {mqtt.error_string(info.rc)}")
        if c.want_write():
            self._dirty.add(i)
        self.published += 1
        self.sent[channel] += 1
        if channel == contract.OCCUPANCY:
            raw = payload.encode() if isinstance(payload, str) else payload
            self.periods += raw.count(b'"period_s"')
        if qos == 0:
            self.acked += 1
            if on_acked:
                on_acked()
            return
        self._pending[(i, info.mid)] = on_acked

    def _read(self, timeout: float) -> None:
        for key, _ in self._selector.select(timeout):
            c: mqtt.Client = key.data
            sock = c.socket()
            while True:
                rc = c.loop_read()
                if rc != mqtt.MQTT_ERR_SUCCESS:
                    raise LinkError(
                        f"simulator connection to the broker failed: {mqtt.error_string(rc)}"
                    )
                # TLS: records already decrypted wait in the socket object, not the kernel.
                if not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                    break
            if c.want_write():
                c.loop_write()

    def pump(self) -> None:
        """Read and write the sockets; hand acknowledgements and downlink to the devices."""
        self._read(0)
        for i in list(self._dirty):
            c = self.clients[i]
            c.loop_write()
            if not c.want_write():
                self._dirty.discard(i)
        now = time.monotonic()
        if now >= self._misc_at:
            # Keepalive pings, and writes a full socket buffer held back.
            self._misc_at = now + MISC_INTERVAL_S
            for c in self.clients:
                c.loop_misc()
                if c.want_write():
                    c.loop_write()
        while self._acks:
            # `publish` recorded the mid before this thread could see its ack.
            cb = self._pending.pop(self._acks.popleft(), None)
            self.acked += 1
            if cb:
                cb()
        while self._inbox:
            topic, payload = self._inbox.popleft()
            parts = contract.parse_topic(topic)
            if parts and self.on_message:
                self.on_message(parts[0], parts[1], payload)

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until the broker has acknowledged everything published."""
        deadline = time.monotonic() + timeout
        while self.published > self.acked:
            self.pump()
            if time.monotonic() > deadline:
                raise LinkError(
                    f"{self.published - self.acked} messages not acknowledged by the broker "
                    f"within {timeout:.0f} s"
                )
            time.sleep(0.005)
