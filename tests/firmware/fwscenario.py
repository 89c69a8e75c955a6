# A station and a sensor through an outage, a reconnect, acks and deep sleeps, as
# module-level code (the WASI port's collector does not see a running function's locals),
# run by CPython and by MicroPython (test_fw_pure.py); prints what they sent and showed.
import binascii
import json

from fwcases import MemFS

from pletfri_fw import contract
from pletfri_fw.backoff import Backoff
from pletfri_fw.clock import Clock
from pletfri_fw.feedback import Feedback
from pletfri_fw.pseudonym import Pseudonymiser
from pletfri_fw.sensor import Sensor
from pletfri_fw.station import Station
from pletfri_fw.store import Store
from pletfri_fw.uplink import Uplink


class Link:
    def __init__(self):
        self.on_message = None
        self.on_puback = None
        self.reachable = True
        self.connected = False
        self.sent = []
        self.unacked = []
        self.inbox = []
        self.pid = 0

    def up(self):
        return self.connected

    def open(self, will_topic, will_payload, now_ms):
        if not self.reachable:
            raise OSError("unreachable")
        self.connected = True

    def publish(self, topic, payload, qos=1, retain=False):
        self.pid += 1
        self.sent.append([topic, json.loads(payload) if payload[:1] == b"{" else payload.decode()])
        self.unacked.append(self.pid)
        if topic.endswith("/tap"):
            m = json.loads(payload)
            ack = contract.ack_payload(m["boot"], m["seq"], "ok", "skip")
            self.inbox.append((topic[:-3] + "ack", json.dumps(ack).encode()))
        return self.pid

    def subscribe(self, topics, qos=1):
        pass

    def poll(self, now_ms):
        if not self.connected:
            raise OSError("down")
        while self.unacked:
            self.on_puback(self.unacked.pop(0))
        while self.inbox:
            self.on_message(*self.inbox.pop(0))

    def close(self, clean=True):
        self.connected = False


class Led:
    def __init__(self):
        self.history = []

    def rgb(self, r, g, b):
        self.history.append([r, g, b])


class Buzzer:
    def __init__(self):
        self.beeps = 0

    def on(self):
        self.beeps += 1

    def off(self):
        pass


class Rtc:
    def __init__(self):
        self.data = b""

    def read(self):
        return self.data

    def write(self, data):
        self.data = bytes(data)


UNIX = 1764300000000
out = {}
link = Link()
store = Store(MemFS(), max_items=3)
store.begin_boot()
clock = Clock()
clock.sync(0, UNIX)
led = Led()
buzzer = Buzzer()
uplink = Uplink("nfc-a4cf12f0b3c1", link, store, None, Backoff(1000, 8000, 5))
station = Station(uplink, clock, Pseudonymiser(b"site-key"), Feedback(led, buzzer))
station.start(0)
station.poll(0)
station.card_read(b"\x04\xa1\xb2\xc3", 1000)
station.poll(1100)
link.connected = False
link.reachable = False
for i in range(5):
    station.poll(2000 + i * 4000)
    station.card_read(bytes([5, i]), 2000 + i * 4000)
link.reachable = True
t = 30000
while not uplink.up():
    t += 250
    station.poll(t)
for i in range(4):
    station.poll(t + i)
# A site-key rotation from the platform's config: both keys, then the new one alone.
new_key = b"n" * 32
link.inbox.append(
    (
        contract.topic("nfc-a4cf12f0b3c1", contract.CONFIG),
        json.dumps(
            {"site_key": binascii.hexlify(new_key).decode(), "site_key_prev": "736974652d6b6579"}
        ).encode(),
    )
)
station.poll(t + 10)
station.card_read(b"\x04\xa1\xb2\xc3", t + 20)
link.inbox.append(
    (
        contract.topic("nfc-a4cf12f0b3c1", contract.CONFIG),
        json.dumps({"site_key": binascii.hexlify(new_key).decode()}).encode(),
    )
)
station.poll(t + 5000)
station.card_read(b"\x04\xa1\xb2\xc3", t + 6000)
station.poll(t + 6100)
out["station_sent"] = link.sent
out["station_led"] = led.history
out["station_beeps"] = buzzer.beeps
out["station_state"] = [len(store), store.drops, station.acks, uplink.connects, t]

slink = Link()
sfs = MemFS()
rtc = Rtc()
for wake in range(3):
    now = (wake + 1) * 3600000
    sensor = Sensor(
        Uplink("occ-a4cf12f0b3c2", slink, Store(sfs), None, Backoff(500, 4000, 9)), clock, rtc
    )
    sensor.resume(now)
    for k in range(7):
        sensor.pir(now - k * 400000)
    sensor.presence(now, 12)
    if sensor.wake(now):
        while not sensor.done(now):
            sensor.poll(now)
            now += 10
    sensor.sleep(now)
out["sensor_sent"] = slink.sent
out["sensor_rtc"] = binascii.hexlify(rtc.data).decode()
print(json.dumps(out))
