# The battery occupancy sensor. PIR triggers (and, when powered, LD2410 presence
# seconds and door passes) are counted per period (15 min by default) into RTC
# memory; every `send_s` (an hour by default) it wakes the radio and sends ONE
# `occupancy` message with the periods closed since the last, plus a heartbeat,
# then disconnects cleanly and sleeps. Driven by explicit calls with the time:
#   resume(now) once per wake; pir/presence/door(now, n) as they happen;
#   wake(now) -> True if the radio is needed; poll(now) until done(now);
#   sleep(now) -> ms until the next planned wake.
# `now_ms` must keep counting through deep sleep (the ESP32's RTC does).
import json

from pletfri_fw import contract
from pletfri_fw import sensor_state as ss

DEFAULTS = {"period_s": 900, "send_s": 3600, "awake_max_ms": 15000}
# What the platform's `config` may change; period_s only comes from config.json, since a
# change in the middle of a period would make its record wrong.
CONFIG_KEYS = ("send_s", "awake_max_ms")


class Sensor:
    def __init__(self, uplink, clock, rtc, health=None, settings=None):
        self.uplink = uplink
        self.clock = clock
        self.rtc = rtc  # read() -> bytes, write(bytes)
        self.health = health  # now_ms -> dict of heartbeat fields from the hardware
        self.settings = dict(DEFAULTS)
        if settings:
            self.settings.update(settings)
        self.state = ss.State()  # replaced by resume()
        self._awake_since = 0
        uplink.channels = (contract.CONFIG,)
        uplink.birth = False  # a sleeping device: the gateway watches its last-seen time
        uplink.on_message = self.on_message

    def resume(self, now_ms):
        """Load the state from RTC memory; a cold start counts a new boot."""
        st = ss.unpack(self.rtc.read())
        if st is None:
            st = ss.State()
            st.send_s = self.settings["send_s"]
            st.boot = self.uplink.store.begin_boot()
            st.period_start = now_ms
            st.next_send = now_ms  # say hello at once after a cold start
        elif st.boot != self.uplink.store.boot:
            # RTC memory from another boot (the flash was wiped): trust the flash.
            st.boot = self.uplink.store.begin_boot()
            st.seq = 0
        st.period_s = self.settings["period_s"]
        self.settings["send_s"] = st.send_s  # the platform's `config` may have changed it
        self.state = st
        self.uplink.seq = st.seq
        if st.synced and not self.clock.synced():
            self.clock.sync(0, st.offset)
        self._awake_since = now_ms

    def _roll(self, now_ms):
        ss.roll(self.state, now_ms)

    def pir(self, now_ms, n=1):
        self._roll(now_ms)
        self.state.motion += n

    def presence(self, now_ms, seconds):
        self._roll(now_ms)
        self.state.presence_s += seconds

    def door(self, now_ms, n=1):
        self._roll(now_ms)
        self.state.entries += n

    def wake(self, now_ms):
        """Close finished periods; queue this wake's messages. True if the radio is due."""
        self._roll(now_ms)
        st = self.state
        if now_ms < st.next_send:
            return False
        st.next_send = now_ms + st.send_s * 1000
        periods = []
        for end, motion, presence_s, entries in st.closed:
            periods.append(
                contract.period_record(
                    st.period_s,
                    motion,
                    presence_s if presence_s else None,
                    entries if entries else None,
                    self.clock.unix_ms(end),
                )
            )
        ts = self.clock.unix_ms(now_ms)
        while periods:
            # One message per wake, unless a day of dated periods is over the size limit.
            n = len(periods)
            seq = self.uplink.seq + 1
            while True:
                payload = self.uplink.encode(
                    contract.occupancy_payload(st.boot, seq, periods[:n], ts)
                )
                if n == 1 or len(payload) <= contract.MAX_PAYLOAD:
                    break
                n = (n + 1) // 2
            self.uplink.next_seq()
            self.uplink.send_encoded(contract.OCCUPANCY, payload)
            periods = periods[n:]
        st.closed = []
        self.heartbeat(now_ms)
        st.seq = self.uplink.seq
        return True

    def heartbeat(self, now_ms):
        fields = self.health(now_ms) if self.health else {}
        fields["queue"] = len(self.uplink.store)
        if self.uplink.store.drops:
            fields["dropped"] = self.uplink.store.drops
        msg = contract.heartbeat_payload(
            self.state.boot, self.uplink.next_seq(), fields, self.clock.unix_ms(now_ms)
        )
        self.uplink.send_last(contract.HEARTBEAT, msg)

    def on_message(self, channel, payload, now_ms):
        if channel != contract.CONFIG:
            return
        try:
            msg = json.loads(payload)
        except ValueError:
            return
        if not isinstance(msg, dict):
            return
        for k in CONFIG_KEYS:
            v = msg.get(k)
            if isinstance(v, int) and v > 0:
                self.settings[k] = v
        st = self.state
        if self.settings["send_s"] != st.send_s:
            # The next radio wake moves with the new interval, counted from this one.
            st.next_send += (self.settings["send_s"] - st.send_s) * 1000
            st.send_s = self.settings["send_s"]

    def poll(self, now_ms):
        self.uplink.poll(now_ms)

    def done(self, now_ms):
        """Everything sent and acknowledged, or the radio has been on long enough."""
        if self.uplink.idle():
            return True
        return now_ms - self._awake_since >= self.settings["awake_max_ms"]

    def sleep(self, now_ms):
        """Disconnect cleanly (so no Last Will), save the state, return ms to sleep."""
        self.uplink.close(now_ms)
        self._roll(now_ms)
        st = self.state
        st.seq = self.uplink.seq
        if self.clock.synced():
            st.synced = True
            st.offset = self.clock.unix_ms(0)
        self.rtc.write(ss.pack(st))
        return max(0, st.next_send - now_ms)
