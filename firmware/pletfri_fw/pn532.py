# NXP PN532 NFC reader (user manual UM0701-02, section 6.2): frame building and
# parsing as pure functions, and a polled driver over I2C (address 0x24).
#   information frame: 00 00 FF LEN LCS TFI PD0..PDn DCS 00
#   LEN counts TFI and the data; LEN + LCS = 0 and TFI + PD... + DCS = 0 (mod 256);
#   TFI is D4 from the host, D5 from the PN532. ACK: 00 00 FF 00 FF 00.
TFI_HOST = 0xD4
TFI_PN532 = 0xD5
ACK = b"\x00\x00\xff\x00\xff\x00"
I2C_ADDR = 0x24

GET_FIRMWARE_VERSION = 0x02
SAM_CONFIGURATION = 0x14
RF_CONFIGURATION = 0x32
IN_LIST_PASSIVE_TARGET = 0x4A


class FrameError(ValueError):
    pass


def frame(data, tfi=TFI_HOST):
    """The information frame carrying `data` (command code first)."""
    n = len(data) + 1
    if n > 255:
        raise FrameError("%d data bytes do not fit a normal frame" % len(data))
    dcs = (-(tfi + sum(data))) & 0xFF
    return bytes([0, 0, 0xFF, n, (-n) & 0xFF, tfi]) + bytes(data) + bytes([dcs, 0])


def command(code, params=b""):
    return frame(bytes([code]) + params)


def parse(buf, tfi=TFI_PN532):
    """The data (response code first) of the frame in `buf`; FrameError says why not."""
    i = bytes(buf).find(b"\x00\xff")
    if i < 0:
        raise FrameError("no start code 00 FF")
    if len(buf) < i + 4:
        raise FrameError("truncated before LEN/LCS")
    n = buf[i + 2]
    if n == 0 and buf[i + 3] == 0xFF:
        raise FrameError("an ACK frame, not an information frame")
    if (n + buf[i + 3]) & 0xFF:
        raise FrameError("length checksum wrong: LEN %02x LCS %02x" % (n, buf[i + 3]))
    body = buf[i + 4 : i + 4 + n]
    if len(body) < n or len(buf) < i + 5 + n:
        raise FrameError("truncated: LEN %d but %d bytes follow" % (n, len(buf) - i - 4))
    if body[0] != tfi:
        raise FrameError("TFI %02x, expected %02x" % (body[0], tfi))
    if (sum(body) + buf[i + 4 + n]) & 0xFF:
        raise FrameError("data checksum wrong")
    return bytes(body[1:])


def is_ack(buf):
    # The preamble's first 00 is optional on the wire.
    return bytes(buf).find(ACK[1:]) >= 0


def parse_target(data):
    """The UID in an InListPassiveTarget response (106 kbps type A), or None."""
    if len(data) < 2 or data[0] != IN_LIST_PASSIVE_TARGET + 1:
        raise FrameError("not an InListPassiveTarget response")
    if data[1] == 0:
        return None
    # Tg, SENS_RES (2), SEL_RES, NFCIDLength, NFCID1
    if len(data) < 7:
        raise FrameError("target record truncated")
    n = data[6]
    uid = data[7 : 7 + n]
    if n not in (4, 7, 10) or len(uid) != n:
        raise FrameError("UID of %d bytes (%d present)" % (n, len(uid)))
    return bytes(uid)


class PN532:
    """Polled driver: `read_uid()` returns a UID or None within a few tens of ms."""

    def __init__(self, i2c, sleep_ms, addr=I2C_ADDR, timeout_ms=60):
        self.i2c = i2c
        self.sleep_ms = sleep_ms
        self.addr = addr
        self.timeout_ms = timeout_ms
        self.errors = 0

    def _ready(self):
        for _ in range(self.timeout_ms // 5):
            if self.i2c.readfrom(self.addr, 1)[0] == 1:
                return True
            self.sleep_ms(5)
        return False

    def _call(self, code, params=b"", reply_len=32):
        self.i2c.writeto(self.addr, command(code, params))
        if not self._ready() or not is_ack(self.i2c.readfrom(self.addr, 7)[1:]):
            raise FrameError("no ACK for command %02x" % code)
        if not self._ready():
            raise FrameError("no response to command %02x" % code)
        data = parse(self.i2c.readfrom(self.addr, reply_len + 1)[1:])
        if data[0] != code + 1:
            raise FrameError("response %02x to command %02x" % (data[0], code))
        return data

    def begin(self):
        """Firmware version (IC, ver, rev), after putting the SAM in normal mode."""
        v = self._call(GET_FIRMWARE_VERSION)
        self._call(SAM_CONFIGURATION, b"\x01\x14\x01")
        # MxRtyPassiveActivation = 1: InListPassiveTarget answers at once without a card.
        self._call(RF_CONFIGURATION, b"\x05\xff\x01\x01")
        return v[1], v[2], v[3]

    def read_uid(self):
        try:
            return parse_target(self._call(IN_LIST_PASSIVE_TARGET, b"\x01\x00"))
        except (FrameError, OSError):
            self.errors += 1
            return None
