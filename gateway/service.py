"""The gateway process: MQTT in, durable spool, InfluxDB out, an `ack` back to each tap.

Three threads, each doing one thing:

- paho's network loop only queues each incoming message (`_on_publish`); taps come on an
  MQTT session of their own (`tap_lane`, client id `<client_id>-taps`) and go in a queue of
  their own, so a tap never waits in the broker or in the gateway behind a backlog of
  occupancy data (the morning after an outage, bench/outage_burst.py). Their acks go out
  on a third connection (`<client_id>-acks`) that carries nothing else: Mosquitto reads
  one packet per connection per turn of its loop, so an ack behind thousands of PUBACKs
  on the tap session's connection would wait seconds;
- the committer takes the waiting taps first, then whatever else has queued up,
  validates, de-duplicates and enriches it, commits the points and the de-duplication
  state to the spool in one transaction, and only then acknowledges the messages to the
  broker and answers the taps. At low load a group is one message (an ack in about a
  millisecond); under load the groups grow, so one fsync serves many messages;
- the writer drains the spool into InfluxDB (gateway/writer.py).

A message the broker delivered but the gateway did not commit is never acknowledged,
so after a crash the broker delivers it again (persistent session, QoS 1).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from gateway import points
from gateway.dedup import Dedup, Verdict
from gateway.liveness import Liveness
from gateway.mqtt_client import Client
from gateway.registry import Device, Registry
from gateway.spool import Spool, SpoolFull
from gateway.stats import Stats
from gateway.validate import Message, Rejected, parse
from gateway.writer import Writer
from pletfri.influx import Influx
from pletfri.settings import Settings
from pletfri_fw import contract

log = logging.getLogger(__name__)

# Replies to a message that did not come from the broker (the serial bridge).
Reply = Callable[[str, dict[str, Any]], None]
# Unknown device ids remembered for "report once"; beyond this, spoofed ids are only counted.
MAX_UNKNOWN_REPORTED = 10_000
# Messages committed together at most (one spool transaction, one fsync).
MAX_GROUP = 2000
# While a group is processed, every this many messages the committer looks whether a tap
# came in; if so it commits what it has and takes the tap next, so a tap waits for at
# most this many other messages, not a whole group.
TAP_CHECK = 50
# Where gateways of one shared group tell each other which sensors they heard.
SEEN_TOPIC = "pletfri/v1/gateways/{group}/seen"
# Devices per `seen` message at most (about 40 bytes each).
SEEN_CHUNK = 2000
TAP_SUFFIX = b"/" + contract.TAP.encode()
# Kinds allowed to send each channel (status and heartbeats: any). A sticker's taps come
# from the backend, which checked the sticker's SUN message (docs/stickers.md).
CHANNEL_KIND = {contract.TAP: ("station", "sticker"), contract.OCCUPANCY: ("sensor",)}


def wall_ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class Inbound:
    topic: str
    payload: bytes
    mid: int = 0
    qos: int = 0
    # The MQTT connection it arrived on: after a reconnect an old mid means another message.
    generation: int = -1
    reply: Reply | None = None
    # Already known to be bad before parsing (a serial line that is not a frame).
    rejected: Rejected | None = None
    # The MQTT session it came on (acknowledged there); None: not from the broker.
    session: Session | None = None
    # A tap's copy on the bulk session while taps have a lane: acknowledged, not processed.
    skip: bool = False
    # When the network thread queued it (time.monotonic()); 0: not timed.
    t_in: float = 0.0


@dataclass(slots=True)
class Group:
    """What committing one group of messages produces."""

    lines: list[str] = field(default_factory=list)
    acks: list[Inbound] = field(default_factory=list)
    # (topic, payload, reply): sent once the group is durable.
    sends: list[tuple[str, dict[str, Any], Reply | None]] = field(default_factory=list)


class Session:
    """One MQTT session of the gateway: its client, its filters, and `generation`, the
    count of its connections (a message id means something only on its connection)."""

    def __init__(self, gw: Gateway, client_id: str, filters: list[str], lane: str) -> None:
        self.client_id = client_id
        self.filters = filters
        self.lane = lane
        self.generation = 0
        self.ready = threading.Event()
        self.client = gw._client(self)


class Gateway:
    """`Gateway(settings).start()` ... `.stop()`; `stats()` is a snapshot of its counters.

    `uplink=False` leaves out the device subscription (the serial bridge feeds it
    instead); `clock` gives "now" in ms, for simulated time.
    """

    def __init__(
        self, settings: Settings, *, uplink: bool = True, clock: Callable[[], int] = wall_ms
    ) -> None:
        g = settings.gateway
        self.settings = settings
        self.uplink = uplink
        self.clock = clock
        self.name = g.client_id
        self.registry = Registry(
            g.registry_file, g.cards_file or g.registry_file.parent / "cards.csv"
        )
        self.influx = Influx(settings.influx)
        self.counters = Stats()
        self.spool = Spool(g.state_dir / "spool.sqlite", g.spool_max_mb * 2**20, g.spool_fsync)
        self.dedup = Dedup(g.dedup_window, g.dedup_boots)
        self.dedup.load(self.spool.dedup_rows())
        self.liveness = Liveness(
            g.last_seen_timeout_s * 1000, shared=bool(g.shared_group) and uplink
        )
        self.writer = Writer(
            self.spool,
            self.influx,
            self.counters,
            g.batch_lines,
            g.batch_interval_s,
            g.retry_max_s,
        )
        self.need: dict[str, str] = {}
        self._unknown: set[str] = set()
        self._stamps: dict[str, int] = {}
        # Bulk messages; a None only wakes the committer for a tap in `tap_inbox`.
        self.inbox: queue.SimpleQueue[Inbound | None] = queue.SimpleQueue()
        self.tap_inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
        self.connected = threading.Event()
        self._stopping = threading.Event()
        self._committer = threading.Thread(target=self._commit_loop, name="gateway-committer")
        group = g.shared_group
        self.seen_topic = SEEN_TOPIC.format(group=group) if group and uplink else ""
        self.sessions = self._sessions()
        self.client = self.sessions[0].client
        # Where taps' acks go out: a connection of their own when taps have a lane.
        self.ack_client = self.sessions[-1].client

    # ---- MQTT

    def _sessions(self) -> list[Session]:
        g = self.settings.gateway
        prefix = f"$share/{g.shared_group}/" if g.shared_group else ""
        if not self.uplink:
            return [Session(self, g.client_id, [], "bulk")]
        # The bulk session keeps every channel (`+/+`), so a message on an unknown channel
        # is still dead-lettered; its copies of taps are only acknowledged when they have
        # a lane of their own.
        sessions = [Session(self, g.client_id, [prefix + contract.subscription()], "bulk")]
        if g.tap_lane:
            tap_filter = prefix + contract.subscription(contract.TAP)
            sessions.append(Session(self, g.client_id + "-taps", [tap_filter], "taps"))
            sessions.append(Session(self, g.client_id + "-acks", [], "acks"))
        return sessions

    def _client(self, session: Session) -> mqtt.Client:
        s = self.settings
        client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=session.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
            userdata=session,
        )
        if s.mqtt.username:
            client.username_pw_set(s.mqtt.username, s.mqtt.password)
        if s.mqtt.tls:
            client.tls_set(ca_certs=str(s.mqtt.ca_file) if s.mqtt.ca_file else None)
        client.reconnect_delay_set(0.2, 10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        if session.lane == "taps":
            client.on_publish_raw = lambda t, p, mid, qos: self._on_tap(session, t, p, mid, qos)
        else:
            client.on_publish_raw = lambda t, p, mid, qos: self._on_publish(session, t, p, mid, qos)
        return client

    def _on_connect(self, client, session, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            log.error("broker refused %s: %s", session.client_id, reason_code)
            return
        session.generation += 1
        subs = []
        if session.lane == "bulk":
            subs.append((contract.subscription(contract.NEED), SubscribeOptions(qos=1)))
            if self.seen_topic:
                subs.append((self.seen_topic, SubscribeOptions(qos=1, noLocal=True)))
        # Retained statuses only on a new subscription, not again on every reconnect.
        subs += [
            (f, SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB))
            for f in session.filters
        ]
        log.info(
            "%s connected to %s:%d (session present: %s)",
            session.client_id,
            self.settings.mqtt.host,
            self.settings.mqtt.port,
            flags.session_present,
        )
        if subs:
            client.subscribe(subs)
        else:
            self._ready(session)  # the acks' connection only publishes

    def _on_subscribe(self, client, session, mid, reason_codes, properties) -> None:  # type: ignore[no-untyped-def]
        for rc in reason_codes:
            if rc.is_failure:
                log.error("broker refused a subscription of %s: %s", session.client_id, rc)
        # Ready only once the broker has every subscription: earlier publishes would be missed.
        self._ready(session)

    def _ready(self, session: Session) -> None:
        session.ready.set()
        if all(x.ready.is_set() for x in self.sessions):
            self.connected.set()
            log.info("subscribed; ready")

    def _on_disconnect(self, client, session, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        session.ready.clear()
        self.connected.clear()
        if not self._stopping.is_set():
            log.warning("%s lost the broker (%s); reconnecting", session.client_id, reason_code)

    def _on_publish(
        self, session: Session, raw_topic: bytes, payload: bytes, mid: int, qos: int
    ) -> None:
        if self._stopping.is_set():
            return  # not acknowledged: the broker delivers it again after the restart
        # `+/+` delivers only <root><device>/<channel>, so this is exactly what the tap
        # lane's `+/tap` gets too.
        tap = raw_topic.endswith(TAP_SUFFIX)
        item = Inbound(_topic(raw_topic), payload, mid, qos, session.generation, session=session)
        if tap and len(self.sessions) > 1:
            item.skip = True
        elif tap:
            item.t_in = time.monotonic()
        self.inbox.put(item)

    def _on_tap(
        self, session: Session, raw_topic: bytes, payload: bytes, mid: int, qos: int
    ) -> None:
        if self._stopping.is_set():
            return
        item = Inbound(_topic(raw_topic), payload, mid, qos, session.generation, session=session)
        item.t_in = time.monotonic()
        self.tap_inbox.put(item)
        self.inbox.put(None)

    # ---- the public API

    def start(self) -> Gateway:
        s = self.settings
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = s.gateway.session_expiry_s
        props.ReceiveMaximum = s.gateway.receive_maximum
        self.writer.start()
        self._committer.start()
        for session in self.sessions:
            session.client.connect_async(
                s.mqtt.host,
                s.mqtt.port,
                keepalive=s.mqtt.keepalive_s,
                clean_start=False,
                properties=props,
            )
            session.client.loop_start()
        return self

    def stop(self) -> None:
        """Commit and acknowledge what has arrived, then write what InfluxDB will take."""
        self._stopping.set()
        if self._committer.is_alive():
            self._committer.join()
        for session in self.sessions:
            session.client.disconnect()
            session.client.loop_stop()
        if self.writer.is_alive():
            self.writer.stop()
        self.spool.close()
        self.influx.close()
        log.info("gateway stopped: %s", self.counters.summary())

    def feed(
        self,
        topic: str,
        payload: bytes,
        reply: Reply | None = None,
        rejected: Rejected | None = None,
    ) -> None:
        """Put a message through the pipeline from elsewhere than the broker (serial)."""
        self.inbox.put(Inbound(topic, payload, reply=reply, rejected=rejected))

    def stats(self) -> dict[str, Any]:
        snap = self.counters.snapshot()
        snap["spool_lines"] = self.spool.lines
        snap["spool_bytes"] = self.spool.bytes
        return snap

    # ---- the committer

    def _commit_loop(self) -> None:
        g = self.settings.gateway
        next_refresh = time.monotonic()
        next_stats = next_refresh + g.stats_interval_s
        # Messages taken off the inbox but left for the next group (a tap came first).
        carry: list[Inbound] = []
        while True:
            first = None
            if not carry:
                try:
                    first = self.inbox.get(timeout=0.1)
                except queue.Empty:
                    if self._stopping.is_set() and self.tap_inbox.empty():
                        break
            # Taps first: a cleaner waits at the door for the answer.
            batch: list[Inbound] = []
            while len(batch) < MAX_GROUP:
                try:
                    batch.append(self.tap_inbox.get_nowait())
                except queue.Empty:
                    break
            n_taps = len(batch)
            batch += carry
            if first is not None:
                batch.append(first)
            while len(batch) < MAX_GROUP:
                try:
                    item = self.inbox.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    batch.append(item)
            group = Group()
            now = self.clock()
            mono = time.monotonic()
            if mono >= next_refresh:
                next_refresh = mono + 1.0
                self._housekeeping(now, group)
            if mono >= next_stats:
                next_stats = mono + g.stats_interval_s
                self._update_spool_stats()
                group.lines.append(points.gateway_line(self.name, self.counters.fields(), now))
                self.counters.tap_ms_max = 0.0
                log.info("gateway %s: %s", self.name, self.counters.summary())
            carry = []
            if batch or group.lines or group.sends:
                carry = self._commit(batch, group, now, n_taps)

    def _housekeeping(self, now: int, group: Group) -> None:
        if self.registry.refresh():
            self._unknown.clear()
        for device, at in self.liveness.expired(now):
            dev = self.registry.device(device)
            if dev is None:
                self.liveness.forget(device)
                continue
            self.counters.timeouts += 1
            log.warning("sensor %s not heard from since %d ms: marked offline", device, at)
            group.lines.append(points.online_line(dev, False, at, "timeout"))
        if self.seen_topic:
            fresh = list(self.liveness.take_fresh().items())
            for i in range(0, len(fresh), SEEN_CHUNK):
                body = {"gateway": self.name, "seen": dict(fresh[i : i + SEEN_CHUNK])}
                group.sends.append((self.seen_topic, body, None))

    def _commit(
        self, batch: list[Inbound], group: Group, now: int, n_taps: int = 0
    ) -> list[Inbound]:
        """Commit the batch, or its first part, and return the rest: the first `n_taps` items
        (taps) make a group of their own, and a tap that comes meanwhile cuts a group short."""
        self.dedup.begin()
        rest: list[Inbound] = []
        for i, item in enumerate(batch):
            self._process(item, now, group)
            if i + 1 == n_taps or (i % TAP_CHECK == TAP_CHECK - 1 and not self.tap_inbox.empty()):
                rest = batch[i + 1 :]
                break
        chunks = _split(group.lines, self.settings.gateway.batch_lines)
        while True:
            try:
                self.spool.append(chunks, self.dedup.changed(), wall_ms())
                self.dedup.commit()
                break
            except Exception as e:
                # Spool full or disk trouble: nothing is acknowledged, so nothing is lost;
                # the broker holds the rest (receive_maximum) until the spool has room.
                self._update_spool_stats()
                log.error("cannot commit to the spool, waiting: %s", e)
                if not isinstance(e, SpoolFull):
                    log.exception("spool error")
                if self._stopping.wait(1.0):
                    self.dedup.rollback()
                    return []  # unacknowledged: the broker delivers them again
        self.counters.points += len(group.lines)
        if self.spool.lines >= self.settings.gateway.batch_lines:
            self.writer.wake.set()
        # Acks first: a cleaner waits for them; the broker only for the PUBACKs.
        for topic, payload, reply in group.sends:
            self._send(topic, payload, reply)
        # Subscriptions are QoS 1 at most, so PUBACK is the only acknowledgement there is.
        for session in self.sessions:
            session.client.ack_many(
                item.mid
                for item in group.acks
                if item.session is session
                and item.generation == session.generation
                and item.qos == 1
            )
        taps = [item.t_in for item in group.acks if item.t_in]
        if taps:
            ms = (time.monotonic() - min(taps)) * 1000
            self.counters.tap_ms_max = max(self.counters.tap_ms_max, ms)
        return rest

    def _send(self, topic: str, payload: dict[str, Any], reply: Reply | None) -> None:
        if reply is not None and not topic.startswith(contract.DEADLETTER_TOPIC):
            try:
                reply(topic, payload)
            except OSError as e:
                log.warning("could not reply on %s: %s", topic, e)
            return
        client = self.ack_client if topic.endswith("/" + contract.ACK) else self.client
        client.publish(topic, json.dumps(payload, separators=(",", ":")), qos=1)

    def _process(self, item: Inbound, now: int, group: Group) -> None:
        if item.qos:
            group.acks.append(item)
        if item.skip:
            return
        if self.seen_topic and item.topic == self.seen_topic:
            self._heard_elsewhere(item.payload)
            return
        parts = contract.parse_topic(item.topic)
        if parts and parts[1] in contract.DOWNLINK:
            if parts[1] == contract.NEED:
                self._remember_need(parts[0], item.payload)
            return
        self.counters.received += 1
        if parts is not None and self.registry.device(parts[0]) is not None:
            # Undated points are stamped with the receive time: give each message of a
            # device its own millisecond, so two of them never overwrite each other.
            now = max(now, self._stamps.get(parts[0], 0) + 1)
            self._stamps[parts[0]] = now
        if item.rejected is not None:
            self._reject(item, item.rejected, now, group)
            return
        try:
            msg = parse(item.topic, item.payload, now)
            self._accept(msg, item, now, group)
        except Rejected as e:
            self._reject(item, e, now, group)
        except Exception as e:
            # A bug must cost one message (dead-lettered, so nothing is lost), not the gateway.
            log.exception("internal error on %s", item.topic)
            self._reject(item, Rejected("internal_error", repr(e)[:200]), now, group)

    def _accept(self, msg: Message, item: Inbound, now: int, group: Group) -> None:
        dev = self.registry.device(msg.device)
        if dev is None:
            self.counters.rejected["unknown_device"] += 1
            if msg.device not in self._unknown and len(self._unknown) < MAX_UNKNOWN_REPORTED:
                self._unknown.add(msg.device)
                log.warning("unknown device %s: not in %s", msg.device, self.registry.devices.path)
                self._deadletter(
                    item,
                    Rejected(
                        "unknown_device",
                        f"{msg.device} is not in the registry (reported once per device)",
                    ),
                    now,
                    group,
                )
            return
        kinds = CHANNEL_KIND.get(msg.channel)
        if kinds is not None and dev.kind not in kinds:
            raise Rejected(
                "wrong_kind", f"{msg.device} is a {dev.kind} in the registry; {msg.channel} is not"
            )
        if dev.kind == "sensor" and self.liveness.seen(dev.device, now):
            group.lines.append(points.online_line(dev, True, now, "heard"))
        if msg.has_id:
            verdict = self.dedup.check(msg.device, msg.boot, msg.seq)
            if verdict is Verdict.DUPLICATE:
                self.counters.duplicates += 1
                if msg.channel == contract.TAP:
                    self._ack_tap(msg, contract.ACK_DUPLICATE, item, group)
                return
            if verdict is Verdict.UNSURE:
                self.counters.unsure += 1
        self.counters.accepted += 1
        group.lines.extend(self._lines(msg, dev, item, now, group))

    def _lines(self, msg: Message, dev: Device, item: Inbound, now: int, group: Group) -> list[str]:
        if msg.channel == contract.TAP:
            # During a site-key rotation the registry may know the card only by its
            # previous pseudonym (docs/security.md).
            prev = msg.payload.get("card_prev")
            known = self.registry.card_known(msg.payload["card"]) or (
                prev is not None and self.registry.card_known(prev)
            )
            if not known:
                self.counters.unknown_cards += 1
            self._ack_tap(msg, contract.ACK_OK if known else contract.ACK_UNKNOWN_CARD, item, group)
            return points.tap_lines(msg, dev, known)
        if msg.channel == contract.OCCUPANCY:
            return points.occupancy_lines(msg, dev)
        if msg.channel == contract.HEARTBEAT:
            return points.heartbeat_lines(msg, dev)
        online = msg.payload["status"] == contract.STATUS_ONLINE
        return [points.online_line(dev, online, now, "status")]

    def _ack_tap(self, msg: Message, result: str, item: Inbound, group: Group) -> None:
        max_age = self.settings.gateway.ack_max_age_s * 1000
        if msg.clock_ok and self.clock() - msg.ts_ms > max_age:
            self.counters.acks_skipped += 1
            return
        need = self.need.get(msg.device, contract.NEED_UNKNOWN)
        ack = contract.ack_payload(msg.boot, msg.seq, result, need)
        group.sends.append((contract.topic(msg.device, contract.ACK), ack, item.reply))
        self.counters.acks += 1

    def _reject(self, item: Inbound, e: Rejected, now: int, group: Group) -> None:
        self.counters.rejected[e.reason] += 1
        log.debug("rejected %.80s: %s", item.topic, e)
        self._deadletter(item, e, now, group)

    def _deadletter(self, item: Inbound, e: Rejected, now: int, group: Group) -> None:
        n = self.settings.gateway.deadletter_excerpt
        body = {
            "topic": item.topic[:200],
            "reason": e.reason,
            "detail": e.detail,
            "excerpt": item.payload[:n].decode("utf-8", "replace"),
            "size": len(item.payload),
            "received_ms": now,
            "gateway": self.name,
        }
        group.sends.append((contract.DEADLETTER_TOPIC, body, None))

    def _heard_elsewhere(self, raw: bytes) -> None:
        try:
            seen = json.loads(raw)["seen"]
            for device, ms in seen.items():
                self.liveness.heard_elsewhere(device, int(ms))
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignoring a malformed message on %s: %.80r", self.seen_topic, raw)

    def _remember_need(self, device: str, raw: bytes) -> None:
        try:
            need = json.loads(raw)["need"]
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed need for %s: %.80r", device, raw)
            return
        if need in (contract.NEED_CLEAN, contract.NEED_SKIP):
            self.need[device] = need

    def _update_spool_stats(self) -> None:
        c = self.counters
        c.spool_lines = self.spool.lines
        c.spool_bytes = self.spool.bytes
        c.spool_fill_pct = round(100 * self.spool.bytes / self.spool.max_bytes, 2)
        alarm = int(c.spool_fill_pct >= self.settings.gateway.spool_alarm_pct)
        if alarm != c.spool_alarm:
            if alarm:
                log.error(
                    "spool %s is %.0f%% full (%d lines): InfluxDB is down or too slow; "
                    "when it is full the gateway stops taking messages (the broker keeps them)",
                    self.spool.path,
                    c.spool_fill_pct,
                    c.spool_lines,
                )
            else:
                log.warning("spool below the alarm level again (%.0f%%)", c.spool_fill_pct)
        c.spool_alarm = alarm


def _topic(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return "(topic is not UTF-8)"


def _split(lines: list[str], size: int) -> list[list[str]]:
    return [lines[i : i + size] for i in range(0, len(lines), size)]
