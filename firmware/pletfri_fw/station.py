# The NFC check-in station: a card read becomes a `tap` on the flash queue (UID
# pseudonymised, debounced), and the light answers with the platform's `ack` or,
# when the tap could only be stored, amber at once. Driven by explicit calls with
# the time; the board's main.py (or the simulator) reads the reader and loops.
import json

from pletfri_fw import contract
from pletfri_fw import feedback as fb
from pletfri_fw.debounce import Debouncer
from pletfri_fw.pseudonym import Pseudonymiser, keys_from_config

DEFAULTS = {"debounce_ms": 3000, "ack_timeout_ms": 1500, "heartbeat_s": 300}


class Station:
    def __init__(self, uplink, clock, pseudonymiser, feedback, health=None, settings=None):
        self.uplink = uplink
        self.clock = clock
        self.pseudo = pseudonymiser
        self.pseudo_prev = None  # the previous site key's, during a rotation's overlap
        self._keys = None  # the (key, previous) last taken from `config`
        self.feedback = feedback
        self.health = health  # now_ms -> dict of heartbeat fields from the hardware
        self.settings = dict(DEFAULTS)
        if settings:
            self.settings.update(settings)
        self.debounce = Debouncer(self.settings["debounce_ms"])
        self.need = contract.NEED_UNKNOWN
        self.taps = 0
        self.acks = 0
        self._pending = None  # (seq, sent at) of the tap waiting for its ack
        self._next_hb = 0
        self._started = 0
        uplink.channels = (contract.ACK, contract.NEED, contract.CONFIG)
        uplink.on_message = self.on_message

    def start(self, now_ms):
        self._started = now_ms
        self._next_hb = now_ms + 60000  # first heartbeat soon after boot, with the reset cause
        self.feedback.show(fb.BOOT, now_ms)

    def card_read(self, uid, now_ms):
        """A UID from the reader. Returns True if it counted as a tap."""
        if not self.debounce.accept(uid, now_ms):
            return False
        up = self.uplink.up()
        seq = self.uplink.next_seq()
        card = self.pseudo.card(uid)
        prev = self.pseudo_prev.card(uid) if self.pseudo_prev else None
        ts = self.clock.unix_ms(now_ms)
        msg = contract.tap_payload(self.uplink.store.boot, seq, card, ts, prev)
        self.uplink.send(contract.TAP, msg)
        self.taps += 1
        if up:
            self._pending = (seq, now_ms)
            self.feedback.show(fb.PENDING, now_ms)
        else:
            self._pending = None
            self.feedback.show(fb.QUEUED, now_ms)
        return True

    def on_message(self, channel, payload, now_ms):
        try:
            msg = json.loads(payload)
        except ValueError:
            return  # the platform sent garbage; the light stays as it is
        if not isinstance(msg, dict):
            return
        if channel == contract.ACK:
            p = self._pending
            if p and msg.get("seq") == p[0] and msg.get("boot") == self.uplink.store.boot:
                self._pending = None
                self.acks += 1
                self.need = msg.get("need", self.need)
                self.feedback.show(fb.for_ack(msg.get("result"), msg.get("need")), now_ms)
        elif channel == contract.NEED:
            self.need = msg.get("need", contract.NEED_UNKNOWN)
        elif channel == contract.CONFIG:
            for k in DEFAULTS:
                v = msg.get(k)
                if isinstance(v, int) and v > 0:
                    self.settings[k] = v
            self.debounce.window_ms = self.settings["debounce_ms"]
            self.set_keys(keys_from_config(msg))

    def set_keys(self, keys):
        # The retained `config` comes again on every reconnect: rebuild only on a change.
        if keys is None or keys == self._keys:
            return
        self._keys = keys
        self.pseudo = Pseudonymiser(keys[0])
        self.pseudo_prev = Pseudonymiser(keys[1]) if keys[1] else None

    def poll(self, now_ms):
        self.uplink.poll(now_ms)
        p = self._pending
        if p and now_ms - p[1] >= self.settings["ack_timeout_ms"]:
            # No answer in time: the tap is safe on flash and will be sent; say so.
            self._pending = None
            self.feedback.show(fb.QUEUED, now_ms)
        if now_ms >= self._next_hb:
            self._next_hb = now_ms + self.settings["heartbeat_s"] * 1000
            self.heartbeat(now_ms)
        self.feedback.poll(now_ms)

    def heartbeat(self, now_ms):
        fields = self.health(now_ms) if self.health else {}
        fields["queue"] = len(self.uplink.store)
        fields["uptime_s"] = (now_ms - self._started) // 1000
        if self.uplink.store.drops:
            fields["dropped"] = self.uplink.store.drops
        seq = self.uplink.next_seq()
        ts = self.clock.unix_ms(now_ms)
        msg = contract.heartbeat_payload(self.uplink.store.boot, seq, fields, ts)
        self.uplink.send_last(contract.HEARTBEAT, msg)

    def shutdown(self, now_ms):
        self.uplink.close(now_ms)
