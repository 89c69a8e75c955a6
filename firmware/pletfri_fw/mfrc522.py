# NXP MFRC522 reader over SPI (datasheet rev 3.9, section 8.1.2: address byte
# 1 (read) / 0 (write), 6 address bits, 0) and the ISO/IEC 14443-3 type A steps to a
# card's UID: REQA, anticollision and select per cascade level (4- and 7-byte UIDs).
# A cheaper alternative to the PN532 with the same read_uid().
COMMAND = 0x01
COM_IRQ = 0x04
ERROR = 0x06
FIFO_DATA = 0x09
FIFO_LEVEL = 0x0A
BIT_FRAMING = 0x0D
MODE = 0x11
TX_CONTROL = 0x14
TX_ASK = 0x15
T_MODE = 0x2A
T_PRESCALER = 0x2B
T_RELOAD_H = 0x2C
T_RELOAD_L = 0x2D
VERSION = 0x37

IDLE = 0x00
TRANSCEIVE = 0x0C
SOFT_RESET = 0x0F

REQA = 0x26
SEL = (0x93, 0x95, 0x97)  # cascade levels 1, 2, 3
CASCADE_TAG = 0x88


class CardError(ValueError):
    pass


def address(reg, read):
    return ((reg << 1) & 0x7E) | (0x80 if read else 0)


def crc_a(data):
    """ISO/IEC 14443-3 CRC_A (initial 0x6363), low byte first on the air."""
    crc = 0x6363
    for b in data:
        b ^= crc & 0xFF
        b = (b ^ (b << 4)) & 0xFF
        crc = ((crc >> 8) ^ (b << 8) ^ (b << 3) ^ (b >> 4)) & 0xFFFF
    return bytes([crc & 0xFF, crc >> 8])


def check_bcc(part):
    """The 4 UID bytes of an anticollision answer (4 bytes + BCC)."""
    if len(part) != 5:
        raise CardError("anticollision answer of %d bytes, expected 5" % len(part))
    if part[0] ^ part[1] ^ part[2] ^ part[3] != part[4]:
        raise CardError("UID check byte (BCC) wrong")
    return bytes(part[:4])


class MFRC522:
    def __init__(self, spi, cs, sleep_ms):
        self.spi = spi
        self.cs = cs
        self.sleep_ms = sleep_ms
        self.errors = 0
        self._buf = bytearray(2)

    def _w(self, reg, value):
        self.cs.value(0)
        self.spi.write(bytes([address(reg, False), value]))
        self.cs.value(1)

    def _r(self, reg):
        self.cs.value(0)
        self.spi.write_readinto(bytes([address(reg, True), 0]), self._buf)
        self.cs.value(1)
        return self._buf[1]

    def begin(self):
        """Reset, timer of about 25 ms for card answers, 100 % ASK, antenna on; the version."""
        self._w(COMMAND, SOFT_RESET)
        self.sleep_ms(50)
        self._w(T_MODE, 0x8D)
        self._w(T_PRESCALER, 0x3E)
        self._w(T_RELOAD_H, 0)
        self._w(T_RELOAD_L, 30)
        self._w(TX_ASK, 0x40)
        self._w(MODE, 0x3D)
        self._w(TX_CONTROL, self._r(TX_CONTROL) | 0x03)
        return self._r(VERSION)

    def _transceive(self, data, bits=0):
        self._w(COMMAND, IDLE)
        self._w(COM_IRQ, 0x7F)
        self._w(FIFO_LEVEL, 0x80)
        for b in data:
            self._w(FIFO_DATA, b)
        self._w(COMMAND, TRANSCEIVE)
        self._w(BIT_FRAMING, 0x80 | bits)  # StartSend
        for _ in range(30):
            irq = self._r(COM_IRQ)
            if irq & 0x30:  # RxIRq or IdleIRq
                break
            if irq & 0x01:  # the timer ran out: no card answered
                return None
            self.sleep_ms(1)
        else:
            return None
        self._w(BIT_FRAMING, 0)
        if self._r(ERROR) & 0x1B:  # buffer overflow, collision, CRC or parity error
            raise CardError("reader reported error flags %02x" % self._r(ERROR))
        n = self._r(FIFO_LEVEL)
        return bytes([self._r(FIFO_DATA) for _ in range(n)])

    def _uid(self):
        atqa = self._transceive(bytes([REQA]), 7)
        if not atqa:
            return None
        uid = b""
        for sel in SEL:
            part = check_bcc(self._transceive(bytes([sel, 0x20])) or b"")
            frame = bytes([sel, 0x70]) + part + bytes([part[0] ^ part[1] ^ part[2] ^ part[3]])
            sak = self._transceive(frame + crc_a(frame))
            if not sak or len(sak) != 3 or crc_a(sak[:1]) != sak[1:]:
                raise CardError("no valid SAK to SELECT")
            if part[0] == CASCADE_TAG:
                uid += part[1:]
                continue
            return uid + part
        raise CardError("UID longer than three cascade levels")

    def read_uid(self):
        """The UID of the card in the field, or None."""
        try:
            return self._uid()
        except (CardError, OSError):
            self.errors += 1
            return None
