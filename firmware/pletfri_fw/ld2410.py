# HLK-LD2410 24 GHz presence radar, serial protocol V1.02: report frames parsed
# from the byte stream, and presence seconds accumulated from the reports.
#   F4 F3 F2 F1 | length (u16 LE) | type (01 engineering, 02 basic) AA
#   state, moving cm (u16), moving energy, still cm (u16), still energy,
#   detection cm (u16), [engineering data] 55 00 | F8 F7 F6 F5
import struct

HEAD = b"\xf4\xf3\xf2\xf1"
TAIL = b"\xf8\xf7\xf6\xf5"
MAX_LEN = 64
NO_TARGET = 0


class Report:
    def __init__(self, state, move_cm, move_energy, still_cm, still_energy, detect_cm):
        self.state = state
        self.move_cm = move_cm
        self.move_energy = move_energy
        self.still_cm = still_cm
        self.still_energy = still_energy
        self.detect_cm = detect_cm

    def as_tuple(self):
        return (
            self.state,
            self.move_cm,
            self.move_energy,
            self.still_cm,
            self.still_energy,
            self.detect_cm,
        )


def parse_data(data):
    """The Report in a frame's data, or None if the data is not a target report."""
    if len(data) < 13 or data[0] not in (1, 2) or data[1] != 0xAA:
        return None
    if data[-2] != 0x55 or data[-1] != 0:
        return None
    state, mcm, men, scm, sen, dcm = struct.unpack("<BHBHBH", data[2:11])
    if state > 3:
        return None
    return Report(state, mcm, men, scm, sen, dcm)


class Parser:
    """Feed it what the UART read; it returns the whole reports, skipping garbage."""

    def __init__(self):
        self._buf = b""
        self.bad = 0

    def feed(self, chunk):
        buf = self._buf + chunk
        out = []
        while True:
            i = buf.find(HEAD)
            if i < 0:
                # Keep a possible start of a header split across reads.
                buf = buf[-3:]
                break
            if i:
                buf = buf[i:]
            if len(buf) < 6:
                break
            n = struct.unpack("<H", buf[4:6])[0]
            if n > MAX_LEN:
                self.bad += 1
                buf = buf[4:]
                continue
            end = 6 + n + 4
            if len(buf) < end:
                break
            rep = parse_data(buf[6 : 6 + n]) if buf[6 + n : end] == TAIL else None
            if rep is None:
                self.bad += 1
                buf = buf[4:]
                continue
            out.append(rep)
            buf = buf[end:]
        self._buf = buf
        return out


class PresenceMeter:
    """Milliseconds with a target, from the times reports arrived."""

    def __init__(self, max_gap_ms=2000):
        self.max_gap_ms = max_gap_ms  # a silent radar does not count as presence
        self._last = None
        self._present = False
        self._ms = 0

    def report(self, rep, now_ms):
        if self._last is not None and self._present:
            self._ms += min(now_ms - self._last, self.max_gap_ms)
        self._last = now_ms
        self._present = rep.state != NO_TARGET

    def take_seconds(self):
        s = self._ms // 1000
        self._ms -= s * 1000
        return s
