# The device's way out: keeps Wi-Fi and MQTT up with capped exponential backoff
# and jitter, sends the flash queue in order with QoS 1, removes a message only
# on its PUBACK, resends whatever was in flight after a reconnect, and publishes
# the retained `online` birth (the Last Will says `offline`). A latest-only message
# (the heartbeat, send_last) goes after everything queued before it and replaces an
# unsent one, so a tap never waits behind a night of heartbeats.
#
# `link` is the MQTT link interface (mqtt_client.py on the device, paho or a
# shared simulator connection under CPython); `net` (optional) is Wi-Fi: up(),
# start(). Nothing here blocks or sleeps: the caller drives it with poll(now_ms).
import json

from pletfri_fw import contract
from pletfri_fw.backoff import Backoff


class Uplink:
    def __init__(
        self, device, link, store, net=None, backoff=None, window=4, birth=True, puback_ms=15000
    ):
        self.device = device
        self.link = link
        self.store = store
        self.net = net
        self.backoff = backoff or Backoff()
        self.window = window
        self.birth = birth
        # A PUBACK this late means a half-dead connection that keepalive has not caught
        # yet (mqtt_as resends within the connection; we reconnect and resend). 0: off.
        self.puback_ms = puback_ms
        self.channels = ()  # downlink channels to subscribe to
        self.on_message = None  # (channel, payload, now_ms)
        self.seq = 0
        self.connects = 0
        self.last_error = None
        self._inflight = []  # [pid, acked, sent at] per message sent from the queue's head
        self._last = None  # [pid, the store's last_gen, sent at] of the latest-only message
        self._up = False
        self._next_try = 0
        self._now = 0
        self._status = contract.topic(device, contract.STATUS)
        link.on_puback = self._puback
        link.on_message = self._message

    def next_seq(self):
        self.seq += 1
        return self.seq

    def up(self):
        return self._up and self.link.up()

    def encode(self, msg):
        return json.dumps(msg, separators=(",", ":")).encode()

    def send(self, channel, msg):
        """Queue one message durably, then push it if the link is up."""
        self.send_encoded(channel, self.encode(msg))

    def send_encoded(self, channel, payload):
        _check_size(channel, payload)
        full = len(self.store) >= self.store.max_items
        self.store.append(channel, payload)
        if full and self._inflight:
            # The dropped oldest message was in flight: its PUBACK means nothing now.
            self._inflight.pop(0)
        self._push()

    def send_last(self, channel, msg):
        """Keep a state message durably as the latest of its kind, then push if up."""
        payload = self.encode(msg)
        _check_size(channel, payload)
        self.store.put_last(channel, payload)
        self._push()

    def _push(self):
        if self.up():
            try:
                self._pump()
            except OSError as e:
                self._down(self._now, str(e))

    def idle(self):
        """Nothing waits to be sent or acknowledged."""
        return len(self.store) == 0 and not self.store.has_last()

    def poll(self, now_ms):
        self._now = now_ms
        if not self.link.up():
            if self._up:
                self._down(now_ms, "link lost")
            if now_ms < self._next_try:
                return
            if self.net is not None and not self.net.up():
                self.net.start()
                self._next_try = now_ms + self.backoff.next_ms()
                return
            try:
                self.link.open(self._status, contract.STATUS_OFFLINE.encode(), now_ms)
                self._connected()
            except OSError as e:
                self._down(now_ms, str(e))
                return
        try:
            self.link.poll(now_ms)
            first = self._inflight[0] if self._inflight else self._last
            late = first and now_ms - first[2] > self.puback_ms
            if late and self.puback_ms:
                raise OSError("no PUBACK within %d ms" % self.puback_ms)
            self._pump()
        except OSError as e:
            self._down(now_ms, str(e))

    def _connected(self):
        self._up = True
        self.connects += 1
        self.last_error = None
        self.backoff.reset()
        self._inflight = []
        self._last = None
        if self.birth:
            self.link.publish(self._status, contract.STATUS_ONLINE.encode(), 1, True)
        topics = []
        for ch in self.channels:
            topics.append(contract.topic(self.device, ch))
        if topics:
            self.link.subscribe(topics, 1)
        self._pump()

    def _down(self, now_ms, why):
        self._up = False
        self._inflight = []
        self._last = None
        self.last_error = why
        if self.link.up():
            self.link.close(False)
        # The first retry also waits a random while, so a fleet that lost its broker
        # does not come back all in the same second.
        self._next_try = now_ms + self.backoff.next_ms()

    def _pump(self):
        inflight = self._inflight
        while len(inflight) < self.window and len(inflight) < len(self.store):
            channel, payload = self.store.peek(len(inflight))
            pid = self.link.publish(contract.topic(self.device, channel), payload, 1, False)
            inflight.append([pid, False, self._now])
        store = self.store
        if (
            self._last is None
            and store.has_last()
            and len(inflight) == len(store)
            and len(inflight) < self.window
        ):
            # Everything queued is on its way: the latest-only message may follow it.
            last = store.last()
            if last is None:
                store.clear_last(store.last_gen)  # torn on flash: the next one replaces it
                return
            pid = self.link.publish(contract.topic(self.device, last[0]), last[1], 1, False)
            self._last = [pid, store.last_gen, self._now]

    def _puback(self, pid):
        last = self._last
        if last and last[0] == pid:
            self._last = None
            self.store.clear_last(last[1])
            return
        inflight = self._inflight
        for e in inflight:
            if e[0] == pid:
                e[1] = True
                break
        n = 0
        while n < len(inflight) and inflight[n][1]:
            n += 1
        if n:
            del inflight[:n]
            self.store.pop(n)

    def _message(self, topic, payload):
        parts = contract.parse_topic(topic)
        if parts and parts[0] == self.device and self.on_message:
            self.on_message(parts[1], payload, self._now)

    def close(self, now_ms):
        """A planned disconnect: `offline` for an always-on device, then DISCONNECT."""
        if self.up():
            try:
                if self.birth:
                    self.link.publish(self._status, contract.STATUS_OFFLINE.encode(), 1, True)
                self.link.close(True)
            except OSError:
                pass  # the Will says the same
        self._up = False
        self._inflight = []
        self._last = None


def _check_size(channel, payload):
    if len(payload) > contract.MAX_PAYLOAD:
        raise ValueError(
            "%s message of %d bytes is over the contract's %d"
            % (channel, len(payload), contract.MAX_PAYLOAD)
        )
