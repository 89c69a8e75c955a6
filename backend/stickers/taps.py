"""A sticker tap: check the SUN URL, refuse replays, and send it the way a station's tap goes.

The backend publishes a CONTRACT.md `tap` on the sticker's own device topic
``pletfri/v1/dev/tag-<uid>/tap`` (``card`` the cleaner's card pseudonym, ``boot`` the
sticker's key generation, ``seq`` the tag's SDM read counter, ``ts`` the tap's time), so
the gateway validates, de-duplicates, places it in its room, stores it as a `tap` point
and answers on ``.../ack`` exactly as for a station; visits pair it with the same rules.

Order of work: the counter is checked and raised in one SQLite transaction (so of two
requests with one URL only one gets through); then the tap is published at QoS 1 and,
once the broker has acknowledged it, the gateway's `ack` is awaited for
``stickers.ack_timeout_s``. A tap the broker did not take within that time goes to the
outbox (``sticker_spool``, SQLite) and is sent when the connection is back (and by the
next tap, or `flush()`); should
the broker have had it after all, the gateway de-duplicates the resend on (device, boot,
seq). One transaction per tap, not two (outbox in, outbox out): the transactions
serialise the taps. A crash between the counter and the broker loses that one tap,
and the cleaner, whose page did not answer, taps again (the next read has a new counter).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from backend.registry import Registry
from backend.stickers import keys, sun
from pletfri.settings import Settings
from pletfri_fw import contract

log = logging.getLogger(__name__)

# The sticker's URL: ``<stickers.base_url>/t?picc=<32 hex>&cmac=<16 hex>``.
PATH = "/t"
PARAM_PICC = "picc"
PARAM_CMAC = "cmac"

Result = Literal[
    "ok", "unknown_tag", "forged", "replayed", "malformed", "stored_offline", "unknown_card"
]
Need = Literal["clean", "skip", "unknown"]
RESULTS: tuple[str, ...] = Result.__args__  # type: ignore[attr-defined]

# What the page says for each message key, like a station's light (Danish first).
MESSAGES: dict[str, dict[str, str]] = {
    "sticker.ok.clean": {
        "da": "Registreret. Rummet skal gøres rent.",
        "en": "Recorded. The room needs cleaning.",
    },
    "sticker.ok.skip": {
        "da": "Registreret. Spring over: rummet er ikke brugt siden sidste rengøring.",
        "en": "Recorded. Skip: the room has not been used since it was last cleaned.",
    },
    "sticker.ok.unknown": {
        "da": "Registreret. Rummets behov kendes ikke lige nu.",
        "en": "Recorded. The room's need is not known right now.",
    },
    "sticker.stored_offline": {
        "da": "Gemt. Sendes, så snart forbindelsen er tilbage.",
        "en": "Stored, will send later.",
    },
    "sticker.unknown_tag": {
        "da": "Ukendt mærkat: den hører ikke til et rum. Sig det til din serviceleder.",
        "en": "Unknown sticker: it is not bound to a room. Tell your service leader.",
    },
    "sticker.forged": {
        "da": "Mærkaten kunne ikke godkendes (kopieret eller ændret adresse).",
        "en": "The sticker could not be verified (a copied or altered address).",
    },
    "sticker.replayed": {
        "da": "Adressen er brugt før. Hold telefonen mod mærkaten igen.",
        "en": "This address was used before. Hold your phone to the sticker again.",
    },
    "sticker.malformed": {
        "da": "Adressen er ufuldstændig. Hold telefonen mod mærkaten igen.",
        "en": "The address is incomplete. Hold your phone to the sticker again.",
    },
    "sticker.unknown_card": {
        "da": "Dit kort er ikke registreret. Sig det til din serviceleder.",
        "en": "Your card is not registered. Tell your service leader.",
    },
}


@dataclass(frozen=True, slots=True)
class TapOutcome:
    """What one sticker tap came to; the page shows `message` (a key of MESSAGES)."""

    result: Result
    need: Need
    message: str
    # Where the sticker is; None when the URL did not name a sticker of ours.
    device: str | None = None
    building: str | None = None
    room: str | None = None
    room_name: str | None = None
    # The tag's read counter from the URL, when it decrypted.
    counter: int | None = None
    # What was wrong, in English, for logs and the service leader (never shown raw).
    detail: str = ""

    @property
    def recorded(self) -> bool:
        """Whether the tap counts (now, or once the outbox is sent)."""
        return self.result in ("ok", "stored_offline")


@dataclass(frozen=True, slots=True)
class _Place:
    device: str
    building: str
    room: str
    room_name: str


class _Publisher:
    """One long-lived MQTT connection that publishes taps and hears their acks."""

    def __init__(self, settings: Settings, on_connected: Callable[[], None]) -> None:
        m = settings.mqtt
        self._on_connected = on_connected
        # One connection per process: two with one client id would push each other off.
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{settings.stickers.client_id}-{os.getpid()}",
            protocol=mqtt.MQTTv5,
        )
        if m.username:
            self.client.username_pw_set(m.username, m.password)
        if m.tls:
            self.client.tls_set(ca_certs=str(m.ca_file) if m.ca_file else None)
        self.client.reconnect_delay_set(0.2, 5)
        self.client.on_socket_open = _no_delay
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.connected = threading.Event()
        self._lock = threading.Lock()
        self._subscribed: set[str] = set()
        self._waiting: dict[tuple[str, int, int], tuple[threading.Event, list[dict[str, Any]]]] = {}
        self.client.connect_async(m.host, m.port, keepalive=m.keepalive_s)
        self.client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            log.error("broker refused the sticker publisher: %s", reason_code)
            return
        with self._lock:
            topics = sorted(self._subscribed)
        if topics:
            client.subscribe([(t, 1) for t in topics])
        self.connected.set()
        # Not on paho's network thread: sending the outbox waits for the broker's PUBACKs.
        threading.Thread(target=self._on_connected, name="sticker-outbox", daemon=True).start()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        self.connected.clear()

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:  # type: ignore[no-untyped-def]
        parts = contract.parse_topic(msg.topic)
        try:
            ack = json.loads(msg.payload)
            key = (parts[0], int(ack["boot"]), int(ack["seq"])) if parts else None
        except (ValueError, KeyError, TypeError):
            return
        with self._lock:
            waiter = self._waiting.get(key) if key else None
        if waiter is not None:
            waiter[1].append(ack)
            waiter[0].set()

    def subscribe_ack(self, device: str) -> bool:
        """Subscribe to the sticker's ack topic once; False when not connected."""
        topic = contract.topic(device, contract.ACK)
        with self._lock:
            if topic in self._subscribed:
                return True
        result, _mid = self.client.subscribe(topic, qos=1)
        if result != mqtt.MQTT_ERR_SUCCESS:
            return False
        with self._lock:
            self._subscribed.add(topic)
        return True

    def expect(self, device: str, boot: int, seq: int) -> tuple[threading.Event, list[Any]]:
        waiter: tuple[threading.Event, list[Any]] = (threading.Event(), [])
        with self._lock:
            self._waiting[(device, boot, seq)] = waiter
        return waiter

    def forget(self, device: str, boot: int, seq: int) -> None:
        with self._lock:
            self._waiting.pop((device, boot, seq), None)

    def send(self, device: str, payload: str, timeout_s: float) -> bool:
        """Publish a tap at QoS 1; True once the broker has acknowledged it."""
        if not self.connected.is_set():
            return False
        try:
            info = self.client.publish(contract.topic(device, contract.TAP), payload, qos=1)
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError) as e:
            log.warning("could not publish a sticker tap for %s: %s", device, e)
            return False
        return info.is_published()


def _no_delay(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    # A tap is one small packet each way: Nagle's algorithm would hold each ~40 ms.
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class StickerTaps:
    """Checks and records sticker taps; one per process, shared by the pages' requests.

    `StickerTaps(settings, registry)` raises keys.MasterKeyError when stickers.master_key
    is missing or not a 16-byte hex key. `tap` never raises for any URL.
    """

    def __init__(self, settings: Settings, registry: Registry) -> None:
        self.settings = settings
        self.registry = registry
        self.master = keys.parse_master_key(settings.stickers.master_key)
        self.meta_key = keys.meta_read_key(self.master)
        self.timeout_s = settings.stickers.ack_timeout_s
        self.counts: Counter[str] = Counter()
        # Taps the broker took (each once, from the request or the outbox).
        self.published = 0
        self._flush_lock = threading.Lock()
        self._publisher = _Publisher(settings, self._send_outbox)

    def close(self) -> None:
        self._publisher.close()

    def __enter__(self) -> StickerTaps:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_connected(self, timeout_s: float) -> bool:
        """Whether the broker connection is up (waiting up to `timeout_s`)."""
        return self._publisher.connected.wait(timeout_s)

    # ---- the tap

    def tap(self, params: Mapping[str, str], cleaner: str, now_ms: int) -> TapOutcome:
        """Verify the sticker URL's query `params`, record the tap as `cleaner`'s check-in.

        `cleaner` is the logged-in person's id in the registry (e.g. ``p0042``); the tap
        carries their card pseudonym, as a station's tap would. `now_ms` is the tap's time.
        """
        try:
            outcome = self._tap(params, cleaner, now_ms)
        except Exception as e:  # a bug must cost one tap's answer, never the page
            log.exception("sticker tap failed")
            outcome = _refused("malformed", f"internal error: {e!r:.200}")
        with self._flush_lock:
            self.counts[outcome.result] += 1
        if outcome.result in ("forged", "replayed", "unknown_tag"):
            log.warning("sticker tap refused (%s): %s", outcome.result, outcome.detail)
        return outcome

    def _tap(self, params: Mapping[str, str], cleaner: str, now_ms: int) -> TapOutcome:
        picc_hex, cmac_hex = params.get(PARAM_PICC), params.get(PARAM_CMAC)
        places: dict[bytes, _Place] = {}

        def file_key(uid: bytes) -> bytes | None:
            place = self._place(uid)
            if place is None:
                return None
            places[uid] = place
            return keys.file_read_key(self.master, uid)

        try:
            if not isinstance(picc_hex, str) or not isinstance(cmac_hex, str):
                raise sun.Malformed(f"the URL needs {PARAM_PICC} and {PARAM_CMAC} parameters")
            picc = sun.verify(self.meta_key, file_key, picc_hex, cmac_hex)
        except sun.UnknownTag as e:
            device = _device(e.picc.uid)
            return _refused("unknown_tag", str(e), device=device, counter=e.picc.counter)
        except sun.SunError as e:
            return _refused(e.reason, str(e))
        place = places[picc.uid]

        def out(result: Result, detail: str = "", need: Need = "unknown") -> TapOutcome:
            key = f"sticker.ok.{need}" if result == "ok" else f"sticker.{result}"
            return TapOutcome(
                result, need, key, place.device, place.building, place.room,
                place.room_name, picc.counter, detail,
            )

        # The person's first enrolled card: after a site-key rotation the registry also holds
        # pseudonyms it learned, which the gateway's cards file may not have yet, while the
        # first stays known as an alias and visits pair on its newest successor.
        cards = self.registry.query(
            "SELECT card FROM cards WHERE person = ? ORDER BY rowid LIMIT 1", (cleaner,)
        )
        if not cards:
            return out("unknown_card", f"{cleaner!r} has no card in the registry")
        payload = contract.tap_payload(keys.GENERATION, picc.counter, cards[0][0], now_ms)
        last = self._accept(place.device, picc.counter, now_ms)
        if last is not None:
            return out("replayed", f"read counter {picc.counter}, last accepted {last}")
        text = json.dumps(payload, separators=(",", ":"))
        pub = self._publisher
        event, acks = pub.expect(place.device, keys.GENERATION, picc.counter)
        try:
            # SUBSCRIBE goes before the tap's PUBLISH on the same connection, so the broker
            # has the subscription before the gateway can answer.
            pub.subscribe_ack(place.device)
            self.flush()
            if not pub.send(place.device, text, self.timeout_s):
                self._spool(place.device, picc.counter, text, now_ms)
                return out("stored_offline", "the broker is not reachable; kept in the outbox")
            with self._flush_lock:
                self.published += 1
            ack = acks[0] if event.wait(self.timeout_s) else None
        finally:
            pub.forget(place.device, keys.GENERATION, picc.counter)
        if ack is None:
            return out("ok", "sent; no answer from the gateway in time")
        if ack.get("result") == contract.ACK_UNKNOWN_CARD:
            return out("unknown_card", "the gateway does not know the cleaner's card")
        need = ack.get("need")
        return out("ok", need=need if need in ("clean", "skip") else "unknown")

    def _place(self, uid: bytes) -> _Place | None:
        rows = self.registry.query(
            "SELECT d.id, r.building, r.id, r.name FROM devices d JOIN rooms r ON r.id = d.room "
            "WHERE d.id = ? AND d.kind = 'sticker'",
            (_device(uid),),
        )
        return _Place(*rows[0]) if rows else None

    def _accept(self, device: str, counter: int, now_ms: int) -> int | None:
        """Raise the sticker's last counter to `counter`; the last one if it is not higher."""
        with self.registry.transaction() as db:
            row = db.execute(
                "SELECT counter FROM sticker_counters WHERE device = ?", (device,)
            ).fetchone()
            if row is not None and counter <= row[0]:
                return int(row[0])
            db.execute(
                "INSERT INTO sticker_counters (device, generation, counter, seen_ms) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (device) DO UPDATE SET "
                "generation = excluded.generation, counter = excluded.counter, "
                "seen_ms = excluded.seen_ms",
                (device, keys.GENERATION, counter, now_ms),
            )
        return None

    def _spool(self, device: str, counter: int, payload: str, now_ms: int) -> None:
        with self.registry.transaction() as db:
            db.execute(
                "INSERT INTO sticker_spool (device, seq, payload, created_ms) VALUES (?, ?, ?, ?)",
                (device, counter, payload, now_ms),
            )

    # ---- the outbox

    def pending(self) -> int:
        """Taps in the outbox."""
        return int(self.registry.query("SELECT count(*) FROM sticker_spool")[0][0])

    def _send_outbox(self) -> None:
        """On each (re)connection: taps kept while the broker was away go out now."""
        try:
            self.flush()
        except Exception:
            log.exception("could not send the sticker outbox; the next tap or flush tries again")

    def flush(self) -> int:
        """Send the outbox's taps, oldest first; return how many the broker took."""
        if not self._publisher.connected.is_set():
            return 0
        sent = 0
        with self._flush_lock:
            rows = self.registry.query("SELECT id, device, payload FROM sticker_spool ORDER BY id")
            for row_id, device, payload in rows:
                if not self._publisher.send(device, payload, self.timeout_s):
                    break
                with self.registry.transaction() as db:
                    db.execute("DELETE FROM sticker_spool WHERE id = ?", (row_id,))
                sent += 1
                self.published += 1  # under the flush lock
        if sent:
            log.info("sent %d sticker tap(s) from the outbox", sent)
        return sent


def _refused(result: str, detail: str, **where: Any) -> TapOutcome:
    return TapOutcome(result, "unknown", f"sticker.{result}", detail=detail, **where)  # type: ignore[arg-type]


def _device(uid: bytes) -> str:
    return f"{contract.KIND_TAG}-{uid.hex()}"


def device_id(uid_hex: str) -> str:
    """The registry's device id of the sticker with this UID (14 hex characters)."""
    uid = bytes.fromhex(uid_hex)
    if len(uid) != sun.UID_LEN:
        raise ValueError(f"an NTAG 424 DNA UID has 7 bytes (14 hex characters), got {uid_hex!r}")
    return _device(uid)
