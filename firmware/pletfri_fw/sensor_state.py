# What the occupancy sensor keeps in RTC memory across deep sleep (which is a
# reset on the ESP32): counters of the open period, the closed periods waiting
# for the next radio wake, seq, and the clock offset. RTC memory does not survive
# a power loss; a CRC tells a valid state from garbage after one.
import binascii
import struct

MAGIC = b"PLS1"
_HEAD = "<4sIIBqqqIIIIIB"
_HEAD_LEN = struct.calcsize(_HEAD)
_REC = "<qIII"
_REC_LEN = struct.calcsize(_REC)
MAX_CLOSED = 24
# After a PIR or door wake neither may wake the chip for this long (boot.py): a person in
# the room keeps the PIR high, and each wake costs energy. So a battery sensor's `motion`
# counts busy minutes, not every trigger.
HOLDOFF_MS = 60000


class State:
    def __init__(self):
        self.boot = 0
        self.seq = 0
        self.synced = False
        self.offset = 0  # Unix ms minus now_ms, valid when synced
        self.period_s = 900
        self.send_s = 3600  # the platform's `config` may change it between wakes
        self.period_start = 0
        self.next_send = 0
        self.motion = 0
        self.presence_s = 0
        self.entries = 0
        self.closed = []  # [end_ms, motion, presence_s, entries], oldest first


def pack(st):
    closed = st.closed[-MAX_CLOSED:]
    out = struct.pack(
        _HEAD,
        MAGIC,
        st.boot,
        st.seq,
        1 if st.synced else 0,
        st.offset,
        st.period_start,
        st.next_send,
        st.period_s,
        st.send_s,
        st.motion,
        st.presence_s,
        st.entries,
        len(closed),
    )
    for c in closed:
        out += struct.pack(_REC, c[0], c[1], c[2], c[3])
    return out + struct.pack("<I", binascii.crc32(out) & 0xFFFFFFFF)


def unpack(data):
    """The State in `data`, or None if it is not one (cold boot, power loss)."""
    if len(data) < _HEAD_LEN + 4 or data[:4] != MAGIC:
        return None
    h = struct.unpack(_HEAD, data[:_HEAD_LEN])
    n = h[12]
    end = _HEAD_LEN + n * _REC_LEN
    if n > MAX_CLOSED or len(data) < end + 4:
        return None
    if struct.unpack("<I", data[end : end + 4])[0] != binascii.crc32(data[:end]) & 0xFFFFFFFF:
        return None
    st = State()
    st.boot, st.seq = h[1], h[2]
    st.synced = h[3] == 1
    st.offset, st.period_start, st.next_send = h[4], h[5], h[6]
    st.period_s, st.send_s = h[7], h[8]
    st.motion, st.presence_s, st.entries = h[9], h[10], h[11]
    for i in range(n):
        st.closed.append(list(struct.unpack(_REC, data[_HEAD_LEN + i * _REC_LEN :][:_REC_LEN])))
    return st


def roll(st, now_ms):
    """Close the periods that ended by now_ms."""
    period = st.period_s * 1000
    while now_ms - st.period_start >= period:
        end = st.period_start + period
        st.closed.append([end, st.motion, st.presence_s, st.entries])
        if len(st.closed) > MAX_CLOSED:
            st.closed.pop(0)  # the radio failed for a day: keep the newest day
        st.motion = st.presence_s = st.entries = 0
        st.period_start = end


def count_wake(st, now_ms, door, n=1):
    """The fast path of a PIR or door wake (boot.py): count it into the open period."""
    roll(st, now_ms)
    if door:
        st.entries += n
    else:
        st.motion += n
