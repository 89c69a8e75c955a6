# The wire contract (shared/CONTRACT.md, version 1) in one module.
# It runs on the device under MicroPython and is imported by the simulator, the
# gateway and the tests, so topic shapes and limits cannot drift between them.
# Keep it MicroPython-clean: no typing, no dataclasses, small allocations.

VERSION = 1
ROOT = "pletfri/v1"
DEV_ROOT = "pletfri/v1/dev/"
DEADLETTER_TOPIC = "pletfri/v1/deadletter"
ALERTS_ROOT = "pletfri/v1/alerts/"

# Channels by direction.
TAP = "tap"
OCCUPANCY = "occupancy"
HEARTBEAT = "heartbeat"
STATUS = "status"
ACK = "ack"
NEED = "need"
CONFIG = "config"
UPLINK = (TAP, OCCUPANCY, HEARTBEAT, STATUS)
DOWNLINK = (ACK, NEED, CONFIG)

STATUS_ONLINE = "online"
STATUS_OFFLINE = "offline"

# Limits the gateway enforces.
MAX_PAYLOAD = 1024
DEVICE_PATTERN = "^[a-z0-9][a-z0-9-]{2,31}$"
DEVICE_MIN = 3
DEVICE_MAX = 32
CARD_HEX_LEN = 16
PERIODS_MIN = 1
PERIODS_MAX = 24
PERIOD_S_MIN = 1
PERIOD_S_MAX = 86400
COUNT_FIELDS = ("motion", "presence_s", "entries")
HEARTBEAT_FIELDS = ("batt_mv", "rssi", "fw", "uptime_s", "queue", "mem_free", "reset", "dropped")
# `dropped` (additive, docs/firmware.md): events this device's full offline queue discarded.

# Device kinds are the prefix of the device id.
KIND_STATION = "nfc"
KIND_SENSOR = "occ"
# A passive NFC sticker read by a cleaner's phone; the backend taps for it (additive,
# docs/stickers.md): the id is "tag-" and the tag's 7-byte UID in hex.
KIND_TAG = "tag"

ACK_OK = "ok"
ACK_UNKNOWN_CARD = "unknown_card"
ACK_DUPLICATE = "duplicate"
ACK_RESULTS = (ACK_OK, ACK_UNKNOWN_CARD, ACK_DUPLICATE)
NEED_CLEAN = "clean"
NEED_SKIP = "skip"
NEED_UNKNOWN = "unknown"


def device_id(kind, mac_hex):
    return kind + "-" + mac_hex.lower()


def valid_device(device):
    # Hand-written instead of `re`, so the check costs no regex compile on the device.
    n = len(device)
    if n < DEVICE_MIN or n > DEVICE_MAX:
        return False
    for i in range(n):
        c = device[i]
        if "a" <= c <= "z" or "0" <= c <= "9":
            continue
        if c == "-" and i > 0:
            continue
        return False
    return True


def topic(device, channel):
    return DEV_ROOT + device + "/" + channel


def subscription(channel="+"):
    return DEV_ROOT + "+/" + channel


def parse_topic(t):
    """Return (device, channel) for a device topic, or None if it is not one."""
    if not t.startswith(DEV_ROOT):
        return None
    rest = t[len(DEV_ROOT) :]
    i = rest.find("/")
    if i <= 0 or rest.find("/", i + 1) >= 0:
        return None
    return rest[:i], rest[i + 1 :]


def alerts_topic(building):
    return ALERTS_ROOT + building


def _common(boot, seq, ts):
    msg = {"v": VERSION, "boot": boot, "seq": seq}
    if ts is not None:
        msg["ts"] = ts
    return msg


def tap_payload(boot, seq, card, ts=None, card_prev=None):
    msg = _common(boot, seq, ts)
    msg["card"] = card
    if card_prev is not None:
        # Additive: during a site-key rotation, the pseudonym under the previous key.
        msg["card_prev"] = card_prev
    return msg


def period_record(period_s, motion=None, presence_s=None, entries=None, ts=None):
    rec = {"period_s": period_s}
    if motion is not None:
        rec["motion"] = motion
    if presence_s is not None:
        rec["presence_s"] = presence_s
    if entries is not None:
        rec["entries"] = entries
    if ts is not None:
        rec["ts"] = ts
    return rec


def occupancy_payload(boot, seq, periods, ts=None):
    msg = _common(boot, seq, ts)
    msg["periods"] = periods
    return msg


def heartbeat_payload(boot, seq, fields, ts=None):
    msg = _common(boot, seq, ts)
    for k in HEARTBEAT_FIELDS:
        # A reading the hardware could not take (None) is left out, not sent as null.
        if fields.get(k) is not None:
            msg[k] = fields[k]
    return msg


def ack_payload(boot, seq, result, need):
    return {"boot": boot, "seq": seq, "result": result, "need": need}


def need_payload(need, score, since):
    return {"need": need, "score": score, "since": since}
