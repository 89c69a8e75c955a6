# Wall-clock time for event stamps. The ESP32's RTC counts from 2000 and starts at
# an arbitrary value, so the logic never reads it: it keeps the offset between the
# monotonic `now_ms` it is driven with and Unix ms from the last NTP answer, and
# says None (no `ts`, CONTRACT.md) until such an answer came.
import struct

NTP_DELTA_S = 2208988800  # 1900-01-01 to 1970-01-01
# Answers before this are surely bogus (a server that lost its own time).
MIN_UNIX_MS = 1700000000000


class Clock:
    def __init__(self):
        self._offset = None

    def sync(self, now_ms, unix_ms):
        self._offset = unix_ms - now_ms

    def synced(self):
        return self._offset is not None

    def unix_ms(self, now_ms):
        if self._offset is None:
            return None
        return now_ms + self._offset


def ntp_request():
    # LI 0, version 4, mode 3 (client).
    return b"\x23" + bytes(47)


def ntp_unix_ms(reply):
    """Unix ms from an NTP server's reply, or None if it is not a usable answer."""
    if len(reply) < 48:
        return None
    mode = reply[0] & 7
    stratum = reply[1]
    if mode != 4 or stratum == 0 or stratum > 15:
        return None
    secs, frac = struct.unpack("!II", reply[40:48])
    if secs < 0x80000000:
        secs += 0x100000000  # NTP era 1 begins in February 2036
    ms = (secs - NTP_DELTA_S) * 1000 + (frac * 1000 >> 32)
    if ms < MIN_UNIX_MS:
        return None
    return ms
